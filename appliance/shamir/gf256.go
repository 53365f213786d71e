package shamir

// GF(2^8) with the AES polynomial x^8 + x^4 + x^3 + x + 1 (0x11b).

// mul multiplies in GF(256) in constant time: eight rounds of "add a when
// the low bit of b is set, then a *= x", with the conditions turned into
// masks instead of branches.
func mul(a, b byte) byte {
	var p byte
	for i := 0; i < 8; i++ {
		p ^= -(b & 1) & a
		carry := -(a >> 7)
		a = a<<1 ^ carry&0x1b
		b >>= 1
	}
	return p
}

// inv is the multiplicative inverse, a^254 (a^255 = 1), by a fixed chain of
// squarings and multiplications; inv(0) = 0.
func inv(a byte) byte {
	// 254 = 0b11111110: the product of a^2, a^4, ..., a^128.
	sq := mul(a, a) // a^2
	r := sq
	for i := 0; i < 6; i++ {
		sq = mul(sq, sq) // a^4 ... a^128
		r = mul(r, sq)
	}
	return r
}
