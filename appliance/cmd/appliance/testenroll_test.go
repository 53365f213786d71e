package main

import (
	"fmt"
	"os"

	"github.com/dacline/dacline/appliance/enrollment"
	"github.com/dacline/dacline/appliance/home"
	"github.com/dacline/dacline/appliance/hsm"
)

// testEnrollMain is the "test-enroll" script command: enrolls a station from
// its enrollment bundle straight through appliance/enrollment, for the
// ceremony scripts (the officer-facing 'appliance station enroll' has its own
// script).
//
//	test-enroll BUNDLE
func testEnrollMain() int {
	if err := testEnroll(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "test-enroll:", err)
		return 1
	}
	return 0
}

func testEnroll(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: test-enroll BUNDLE")
	}
	h, err := home.Open(os.Getenv("DACLINE_HOME"))
	if err != nil {
		return err
	}
	defer h.Close()
	u, err := h.OpenToken([]byte(os.Getenv(hsm.PINEnv)))
	if err != nil {
		return err
	}
	defer u.Close()
	id, err := u.AgeIdentity()
	if err != nil {
		return err
	}
	reg, err := enrollment.New(h.DB())
	if err != nil {
		return err
	}
	p, err := reg.Inspect(args[0], id, "")
	if err != nil {
		return err
	}
	defer p.Close()
	s, err := reg.Enroll(p)
	if err != nil {
		return err
	}
	fmt.Println("enrolled", s.Name)
	return nil
}
