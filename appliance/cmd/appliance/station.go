package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/dacline/dacline/airgap-bundles/bundle"
	"github.com/dacline/dacline/appliance/enrollment"
	"github.com/dacline/dacline/shared/clirun"
)

// confirmInput is where the officer's confirmation is read from; tests replace it.
var confirmInput io.Reader = os.Stdin

func stationCommand() *cli.Command {
	return &cli.Command{
		Name:  "station",
		Usage: "enroll, list and revoke the factory stations this appliance accepts batches from",
		Subcommands: []*cli.Command{
			{
				Name:      "enroll",
				Usage:     "enroll a station from its enrollment bundle",
				ArgsUsage: "BUNDLE",
				Description: "Verifies the bundle (written by 'lineclient enroll'), shows the station's name,\n" +
					"product and fingerprint, and asks the officer to confirm that the station's screen\n" +
					"shows the same fingerprint (answer 'yes'), unless --yes is given.",
				Flags:  []cli.Flag{pinFileFlag, &cli.BoolFlag{Name: "yes", Usage: "enroll without asking (the fingerprint was compared beforehand)"}},
				Action: stationEnroll,
			},
			{
				Name:   "list",
				Usage:  "list enrolled and revoked stations",
				Flags:  []cli.Flag{clirun.JSONFlag},
				Action: stationList,
			},
			{
				Name:      "revoke",
				Usage:     "revoke a station: its bundles are refused from now on",
				ArgsUsage: "NAME",
				Description: "Records the revocation and its station-revoked audit entry in one step. It needs no\n" +
					"PIN, so a station can be revoked at once even when the token is locked away: the\n" +
					"entry is durable in the log, and the next checkpoint the appliance signs (station\n" +
					"enroll, sign, log export) covers it. 'appliance log show' counts the entries since\n" +
					"the latest checkpoint.",
				Flags:  []cli.Flag{&cli.StringFlag{Name: "reason", Usage: "why (required; kept in the record and the audit log)"}},
				Action: stationRevoke,
			},
		},
	}
}

func stationEnroll(c *cli.Context) error {
	if err := clirun.Args(c, "BUNDLE"); err != nil {
		return err
	}
	h, u, err := unlockAppliance(c)
	if err != nil {
		return err
	}
	defer h.Close()
	defer u.Close()
	id, err := u.AgeIdentity()
	if err != nil {
		return withHints(err)
	}
	reg, err := enrollment.New(h.DB())
	if err != nil {
		return err
	}
	tmp, err := h.TempDir()
	if err != nil {
		return err
	}
	p, err := reg.Inspect(c.Args().First(), id, tmp)
	if err != nil {
		return enrollHints(err)
	}
	defer p.Close()
	s := p.Station
	printf("station:     %s\n", s.Name)
	printf("product:     VID %s PID %s\n", orDash(s.VID), orDash(s.PID))
	printf("bundle:      batch %s, created %s\n", p.Manifest.BatchID, p.Manifest.Created.Format("2006-01-02 15:04:05Z"))
	printf("fingerprint: %s\n", s.Fingerprint)
	if w := productWarning(h, s.Name, s.VID, s.PID); w != "" {
		printf("warning: %s\n", w)
	}
	if !c.Bool("yes") {
		printf("Does the station's screen show this fingerprint? Type 'yes' to enroll: ")
		line, _ := bufio.NewReader(confirmInput).ReadString('\n')
		if f, ok := confirmInput.(*os.File); !ok || !term.IsTerminal(int(f.Fd())) {
			printf("\n") // the answer was not echoed
		}
		if strings.TrimSpace(line) != "yes" {
			return clirun.WithHint(fmt.Errorf("station %s: %w", s.Name, enrollment.ErrNotConfirmed),
				"compare the fingerprint with the one 'lineclient enroll' printed on the station, then answer 'yes'")
		}
	}
	rec, seq, err := reg.EnrollLogged(p)
	if err != nil {
		return enrollHints(err)
	}
	printf("station %s enrolled (%s)\n", rec.Name, rec.Fingerprint)
	printf("audit log entry %d: station-enrolled\n", seq)
	return checkpointAfter(u, "the enrollment")
}

func enrollHints(err error) error {
	switch {
	case errors.Is(err, bundle.ErrWrongRecipient):
		return clirun.WithHint(err, "the bundle was made for another appliance: the station must be set up with this appliance's appliance.id")
	case errors.Is(err, bundle.ErrReplay):
		return clirun.WithHint(err, "this enrollment bundle was already used; 'appliance station list' shows the station")
	case errors.Is(err, enrollment.ErrNameTaken):
		return clirun.WithHint(err, "set the new station up under another name ('lineclient init --name')")
	case errors.Is(err, enrollment.ErrKeyInUse):
		return clirun.WithHint(err, "a station's home was copied; set the new station up with 'lineclient init' on a fresh home")
	}
	return err
}

// stationView is the --json form of one station.
type stationView struct {
	Name            string  `json:"name"`
	State           string  `json:"state"`
	VID             string  `json:"vid,omitempty"`
	PID             string  `json:"pid,omitempty"`
	Fingerprint     string  `json:"fingerprint"`
	NoteVerifier    string  `json:"note_verifier"`
	AgeRecipient    string  `json:"age_recipient"`
	EnrolledAt      string  `json:"enrolled_at"`
	EnrollmentBatch string  `json:"enrollment_batch"`
	RevokedAt       *string `json:"revoked_at,omitempty"`
	RevokeReason    string  `json:"revoke_reason,omitempty"`
}

func stationList(c *cli.Context) error {
	if err := clirun.Args(c); err != nil {
		return err
	}
	h, err := openHome(c)
	if err != nil {
		return err
	}
	defer h.Close()
	reg, err := enrollment.New(h.DB())
	if err != nil {
		return err
	}
	list, err := reg.List()
	if err != nil {
		return err
	}
	views := make([]stationView, 0, len(list))
	for _, s := range list {
		v := stationView{Name: s.Name, State: string(s.State), VID: s.VID, PID: s.PID, Fingerprint: s.Fingerprint,
			NoteVerifier: s.NoteVerifier, AgeRecipient: s.AgeRecipient, EnrolledAt: s.EnrolledAt.Format("2006-01-02T15:04:05Z"),
			EnrollmentBatch: s.EnrollmentBatch, RevokeReason: s.RevokeReason}
		if s.RevokedAt != nil {
			t := s.RevokedAt.Format("2006-01-02T15:04:05Z")
			v.RevokedAt = &t
		}
		views = append(views, v)
	}
	if c.Bool("json") {
		return clirun.PrintJSON(clirun.Stdout, views)
	}
	if len(views) == 0 {
		printf("no stations enrolled\n")
		return nil
	}
	for _, v := range views {
		printf("%-20s %-8s VID %s PID %s  %s  enrolled %s\n", v.Name, v.State, orDash(v.VID), orDash(v.PID), v.Fingerprint, v.EnrolledAt)
	}
	return nil
}

func stationRevoke(c *cli.Context) error {
	if err := clirun.Args(c, "NAME"); err != nil {
		return err
	}
	if strings.TrimSpace(c.String("reason")) == "" {
		return clirun.Usage("--reason is required: it is kept in the station record and the audit log")
	}
	h, err := openHome(c)
	if err != nil {
		return err
	}
	defer h.Close()
	reg, err := enrollment.New(h.DB())
	if err != nil {
		return err
	}
	s, seq, err := reg.RevokeLogged(c.Args().First(), c.String("reason"))
	if errors.Is(err, enrollment.ErrNotEnrolled) {
		return clirun.WithHint(err, "'appliance station list' shows the enrolled stations")
	}
	if err != nil {
		return err
	}
	printf("station %s revoked; its bundles are refused from now on\n", s.Name)
	printf("audit log entry %d; the next checkpoint the appliance signs covers it\n", seq)
	return nil
}
