// Package boltmem keeps the pages of a bbolt database that long scans read
// out of the process's resident set (see Release). bbolt maps the whole
// database file and reads through the map, so without it a process that
// reads a large store once — the ceremony of a million DACs, the checkpoint
// that rehashes their log entries — carries the store in its RSS.
package boltmem
