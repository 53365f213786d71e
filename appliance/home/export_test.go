package home

// SetCrashPoint replaces crashPoint for a test and returns the restore.
func SetCrashPoint(f func(point string)) (restore func()) {
	old := crashPoint
	crashPoint = f
	return func() { crashPoint = old }
}

// InitJournalFile and TestPAAJournalFile name the journals for tests.
const (
	InitJournalFile    = initJournalFile
	TestPAAJournalFile = testPAAJournalFile
)
