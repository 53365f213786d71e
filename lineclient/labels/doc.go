// Package labels prints module labels from manifest rows: the Matter QR code
// (its "MT:" payload), the manual pairing code grouped 4-3-4 as users type it,
// and the serial number.
//
// Two outputs: one PNG per module (QR code with the text rendered under it in
// a built-in bitmap font, so the PNG needs no font files) and a PDF sheet of
// A4 pages, 3 × 8 labels of 70 × 37 mm, with the QR code drawn as vector
// squares so it prints sharp at any resolution.
//
// Labels carry the setup passcode (inside the QR code and the manual code):
// files are written 0600.
package labels
