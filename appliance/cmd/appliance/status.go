package main

import (
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/dacline/dacline/appliance/home"
	"github.com/dacline/dacline/appliance/hsm"
	"github.com/dacline/dacline/shared/clirun"
)

func statusCommand() *cli.Command {
	return &cli.Command{
		Name:  "status",
		Usage: "show the token, the keys with the attributes the token reports, and the PAI/PAA",
		Flags: []cli.Flag{pinFileFlag, clirun.JSONFlag},
		Action: func(c *cli.Context) error {
			if err := clirun.Args(c); err != nil {
				return err
			}
			h, u, err := unlockApplianceUnchecked(c)
			if err != nil {
				return err
			}
			defer h.Close()
			defer u.Close()
			st, err := u.Status(time.Now())
			if err != nil {
				return withHints(err)
			}
			if c.Bool("json") {
				return clirun.PrintJSON(clirun.Stdout, st)
			}
			printStatus(st)
			return nil
		},
	}
}

func printStatus(st *home.Status) {
	printf("appliance      %s (home %s, created %s)\n", st.Name, st.Home, st.Created.Format(time.RFC3339))
	t := st.Token
	printf("token          %s: %s %s, serial %s, slot %d\n", t.Label, t.Manufacturer, t.Model, t.SerialNumber, t.Slot)
	printf("module         %s\n", t.Module)
	printf("age recipient  %s\n", st.AgeRecipient)
	printf("keys\n")
	for _, k := range st.Keys {
		printf("  %-18s %-27s %-8s %s\n", k.Role, k.Label, k.Type, attrString(k.Type, k.Attributes))
	}
	for _, c := range []struct {
		name string
		cert *home.CertStatus
	}{{"PAI", st.PAI}, {"PAA", st.PAA}} {
		if c.cert == nil {
			printf("%-14s none\n", c.name)
			continue
		}
		valid := "valid now"
		if !c.cert.ValidNow {
			valid = "NOT VALID NOW"
		}
		printf("%-14s %s\n", c.name, c.cert.Subject)
		printf("%-14s %s .. %s (%s)\n", "", c.cert.NotBefore.Format(time.RFC3339), c.cert.NotAfter.Format(time.RFC3339), valid)
	}
	for _, v := range st.PAIs {
		if !v.First && v.Cert == nil {
			printf("%-14s %s\n", "PAI "+v.Label, v.State)
		} else if !v.First {
			printf("%-14s %s %s %s .. %s\n", "PAI "+v.Label, v.State, v.Subject, v.NotBefore.Format(time.RFC3339), v.NotAfter.Format(time.RFC3339))
		}
	}
	for _, w := range st.Warnings {
		printf("WARNING        %s\n", w)
	}
	if a := st.LogAnchor; a != nil {
		if a.OK {
			printf("log anchor     OK: the log has %d entries, the token's anchor %d\n", a.LogSize, a.AnchoredSize)
		} else {
			printf("log anchor     REFUSED: %s (see \"Backup and restore\" in the security officer runbook)\n", a.Problem)
		}
	}
}

// attrString lists the attributes as pkcs11-tool does.
func attrString(typ string, a hsm.KeyAttributes) string {
	var access []string
	add := func(ok bool, s string) {
		if ok {
			access = append(access, s)
		}
	}
	add(a.Sensitive, "sensitive")
	add(a.AlwaysSensitive, "always sensitive")
	add(a.Extractable, "EXTRACTABLE")
	add(a.NeverExtractable, "never extractable")
	add(a.Local, "local")
	add(a.Modifiable == hsm.ReportedFalse, "not modifiable")
	add(a.Modifiable == hsm.ReportedTrue, "MODIFIABLE")
	add(a.Copyable == hsm.ReportedFalse, "not copyable")
	add(a.Copyable == hsm.ReportedTrue, "COPYABLE")
	var usage []string
	for _, u := range []struct {
		ok   bool
		name string
	}{{a.Sign, "sign"}, {a.Decrypt, "decrypt"}, {a.Unwrap, "unwrap"}, {a.Derive, "derive"}} {
		if u.ok {
			usage = append(usage, u.name)
		}
	}
	if strings.HasPrefix(typ, "AES") && !a.Sign && !a.Unwrap && !a.Derive {
		usage = []string{"encrypt, decrypt"}
	}
	return strings.Join(access, ", ") + "; usage: " + strings.Join(usage, ", ")
}
