package onboarding

// The Verhoeff check digit (dihedral group D5) protects the manual pairing code
// (SDK src/lib/support/verhoeff/Verhoeff10.cpp): it catches every single-digit error and every swap of
// adjacent digits.

var verhoeffD = [10][10]byte{
	{0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
	{1, 2, 3, 4, 0, 6, 7, 8, 9, 5},
	{2, 3, 4, 0, 1, 7, 8, 9, 5, 6},
	{3, 4, 0, 1, 2, 8, 9, 5, 6, 7},
	{4, 0, 1, 2, 3, 9, 5, 6, 7, 8},
	{5, 9, 8, 7, 6, 0, 4, 3, 2, 1},
	{6, 5, 9, 8, 7, 1, 0, 4, 3, 2},
	{7, 6, 5, 9, 8, 2, 1, 0, 4, 3},
	{8, 7, 6, 5, 9, 3, 2, 1, 0, 4},
	{9, 8, 7, 6, 5, 4, 3, 2, 1, 0},
}

var verhoeffP = [8][10]byte{
	{0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
	{1, 5, 7, 6, 2, 8, 3, 0, 9, 4},
	{5, 8, 0, 3, 7, 9, 6, 1, 4, 2},
	{8, 9, 1, 6, 0, 4, 3, 5, 2, 7},
	{9, 4, 5, 3, 1, 2, 6, 8, 7, 0},
	{4, 2, 8, 6, 5, 7, 3, 9, 0, 1},
	{2, 7, 9, 3, 8, 0, 6, 4, 1, 5},
	{7, 0, 4, 6, 9, 1, 3, 2, 5, 8},
}

var verhoeffInv = [10]byte{0, 4, 3, 2, 1, 5, 6, 7, 8, 9}

// verhoeffCheckDigit returns the check digit ('0'..'9') to append to digits,
// which must hold only ASCII digits.
func verhoeffCheckDigit(digits string) byte {
	var c byte
	for i := 0; i < len(digits); i++ {
		d := digits[len(digits)-1-i] - '0'
		c = verhoeffD[c][verhoeffP[(i+1)%8][d]]
	}
	return '0' + verhoeffInv[c]
}

// verhoeffValid reports whether the last digit of digits is the Verhoeff check
// digit of the ones before it. digits must hold only ASCII digits.
func verhoeffValid(digits string) bool {
	var c byte
	for i := 0; i < len(digits); i++ {
		d := digits[len(digits)-1-i] - '0'
		c = verhoeffD[c][verhoeffP[i%8][d]]
	}
	return c == 0
}
