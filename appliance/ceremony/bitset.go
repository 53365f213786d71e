package ceremony

// bitset marks CSR indexes (refused or already issued): 1,000,000 CSRs cost 125 KB.
type bitset []uint64

func newBitset(n int) bitset { return make(bitset, (n+63)/64) }

func (b bitset) set(i uint32) {
	if int(i/64) < len(b) {
		b[i/64] |= 1 << (i % 64)
	}
}

func (b bitset) has(i uint32) bool { return int(i/64) < len(b) && b[i/64]&(1<<(i%64)) != 0 }
