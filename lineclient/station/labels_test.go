package station

import (
	"errors"
	"testing"
	"time"
)

// TestLabelsPrinted: only finished modules' labels are recorded, all or
// nothing, a reprint keeps the first time, and the record survives a reopen
// of a store made before the bucket existed.
func TestLabelsPrinted(t *testing.T) {
	s, path := openTest(t)
	for i := range 3 {
		keyGen(t, s, i)
		driveToLocked(t, s, testMAC(i))
	}
	for i := range 2 {
		if _, err := s.RecordDone(testMAC(i)); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := s.LabelsPrinted(); err != nil || len(got) != 0 {
		t.Fatalf("new store: %v %v", got, err)
	}
	// Module 2 is only locked: the whole record is refused.
	if err := s.RecordLabelsPrinted([]string{testMAC(0), testMAC(2)}); !errors.Is(err, ErrTransition) {
		t.Fatalf("label of a locked module: %v", err)
	}
	if err := s.RecordLabelsPrinted([]string{"02:00:00:00:00:99"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("label of an unknown module: %v", err)
	}
	if got, _ := s.LabelsPrinted(); len(got) != 0 {
		t.Fatalf("a refused record left %v", got)
	}
	t0 := time.Date(2026, 12, 8, 9, 0, 0, 0, time.UTC)
	s.SetClock(func() time.Time { return t0 })
	if err := s.RecordLabelsPrinted([]string{testMAC(0)}); err != nil {
		t.Fatal(err)
	}
	s.SetClock(func() time.Time { return t0.Add(time.Hour) })
	if err := s.RecordLabelsPrinted([]string{testMAC(0), testMAC(1)}); err != nil {
		t.Fatal(err)
	}
	got, err := s.LabelsPrinted()
	if err != nil || len(got) != 2 || !got[testMAC(0)].Equal(t0) || !got[testMAC(1)].Equal(t0.Add(time.Hour)) {
		t.Fatalf("printed: %v %v", got, err)
	}
	mustNoViolations(t, s)
	s.Close()
	s2, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if got, _ := s2.LabelsPrinted(); len(got) != 2 {
		t.Fatalf("after reopen: %v", got)
	}
}
