package main

import (
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/dacline/dacline/lineclient/internal/linetest"
	"github.com/dacline/dacline/lineclient/station"
	"github.com/dacline/dacline/lineclient/stationhome"
)

// TestControlScripts runs testdata/control: 'serve-control' opens the home
// in the test process and serves its control socket as `lineclient run`
// does, until the script ends (or 'stop-control').
func TestControlScripts(t *testing.T) {
	pki := linetest.NewPKI(t)
	vidApp := linetest.NewAppliance(t, "appliance-1") // its PAI is for FFF1/8000
	testscript.Run(t, testscript.Params{
		Dir:   "testdata/control",
		Setup: scriptSetup,
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"provision": func(ts *testscript.TestScript, neg bool, args []string) {
				n, err := strconv.Atoi(args[0])
				ts.Check(err)
				until := "done"
				if len(args) == 2 {
					until = args[1]
				}
				ts.Check(provision(ts.Getenv("DACLINE_HOME"), pki, n, until))
			},
			"serve-control": func(ts *testscript.TestScript, neg bool, args []string) {
				h, err := stationhome.Open(ts.Getenv("DACLINE_HOME"))
				ts.Check(err)
				s, err := serveControl(h)
				if err != nil {
					h.Close()
					ts.Fatalf("serve-control: %v", err)
				}
				stop := func() { s.Close(); h.Close() }
				ts.Setenv("CONTROL_SERVING", "1")
				ts.Defer(stop)
				controlStops.Store(ts, stop)
			},
			// fail-lock MAC fails a locked module lock-failed, as a jig
			// glitch during the lock does.
			"fail-lock": func(ts *testscript.TestScript, neg bool, args []string) {
				st, err := station.OpenFile(filepath.Join(ts.Getenv("DACLINE_HOME"), "station.db"))
				ts.Check(err)
				defer st.Close()
				_, err = st.Fail(args[0], station.ReasonLockFailed, "test: lock step 2 refused: hardware fault")
				ts.Check(err)
			},
			// pai-appliance FILE writes an appliance.id whose PAI names
			// VID FFF1 PID 8000.
			"pai-appliance": func(ts *testscript.TestScript, neg bool, args []string) {
				ts.Check(vidApp.ID.Write(ts.MkAbs(args[0])))
			},
			"stop-control": func(ts *testscript.TestScript, neg bool, args []string) {
				if stop, ok := controlStops.LoadAndDelete(ts); ok {
					stop.(func())()
				}
			},
		},
	})
}

// controlStops: each running script's stop function; scripts run in
// parallel, so the map is a sync.Map.
var controlStops sync.Map // *testscript.TestScript → func()

// FuzzControlRequest: the server's request parser never panics and accepts
// only what it can run.
func FuzzControlRequest(f *testing.F) {
	f.Add([]byte(`{"version":1,"args":["status"],"cwd":"/tmp"}`))
	f.Add([]byte(`{"version":1,"args":[],"cwd":"/tmp"}`))
	f.Add([]byte(`{"version":2,"args":["status"],"cwd":"rel"}`))
	f.Add([]byte(`{"version":1,"args":["status"],"cwd":"/","x":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := parseControlRequest(b)
		if err != nil {
			return
		}
		if r.Version != controlVersion || len(r.Args) == 0 || len(r.Args) > maxControlArgs || r.Cwd == "" || r.Cwd[0] != '/' {
			t.Fatalf("accepted %+v", r)
		}
	})
}
