// Package labels prints module labels from manifest rows: the Matter QR code
// (its "MT:" payload), the manual pairing code grouped 4-3-4 as users type it,
// the serial number and the module's MAC address.
//
// One layout (layout.go) is drawn three ways: a PDF (sheets of pre-cut
// labels on A4 or Letter, or one label per page for a roll), one PNG per
// label, and ZPL II for thermal label printers. The QR code sits at the left
// with its quiet zone inside the label; the text is set in the Go fonts,
// compiled into the program and embedded in every PDF.
//
// Invariants:
//   - on a sheet, no ink comes closer than MinSheetMargin (5 mm) to a page
//     edge (the sheets' geometry guarantees it; the tests measure it on the
//     rendered PDF);
//   - a label that cannot be drawn whole and legible (text too long for the
//     label, QR modules too small, characters no output can carry) is an
//     error naming the label, never a clipped or unreadable label;
//   - PNGs carry their resolution (pHYs), so they print at their real size;
//   - labels carry the setup passcode (inside the QR code and the manual
//     code): files are written 0600, atomically and durably (a file exists
//     whole, fsynced, or not at all).
package labels
