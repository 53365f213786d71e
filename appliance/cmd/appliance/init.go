package main

import (
	"crypto/rand"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/dacline/dacline/appliance/home"
	"github.com/dacline/dacline/appliance/hsm"
	"github.com/dacline/dacline/appliance/quorum"
	"github.com/dacline/dacline/shared/clirun"
)

func initCommand() *cli.Command {
	return &cli.Command{
		Name:  "init",
		Usage: "create the appliance home and generate the appliance keys inside the HSM",
		Description: "Creates the appliance home (config.json, appliance.db, the sealed age identity) and\n" +
			"generates, inside the token, the Ed25519 appliance signing key, the P-256 PAI key and the\n" +
			"AES key that seals the age identity, and starts the audit log: appliance-init, one\n" +
			"key-generated entry per key (with its PKCS#11 attributes read back) and a first\n" +
			"checkpoint signed with the new key. Nothing is left behind when it fails, so it can be\n" +
			"run again; it never overwrites an existing home.\n\n" +
			"With --new-softhsm-token a SoftHSM2 token is created inside the home with the user PIN\n" +
			"from $" + hsm.PINEnv + " or --pin-file (or typed twice on a terminal). Its SO PIN comes\n" +
			"from $" + hsm.SOPINEnv + " or --so-pin-file; without one a random SO PIN is set and\n" +
			"forgotten (the user PIN of such a development token cannot be reset: re-create it).",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "hsm-module", Usage: "PKCS#11 module `PATH`", Value: hsm.DefaultModule, EnvVars: []string{"DACLINE_HSM_MODULE"}},
			&cli.StringFlag{Name: "token", Usage: "token `LABEL`", Value: "dacline", EnvVars: []string{"DACLINE_HSM_TOKEN"}},
			&cli.BoolFlag{Name: "new-softhsm-token", Usage: "create a SoftHSM2 token inside the home (development)"},
			&cli.StringFlag{Name: "name", Usage: "appliance `NAME` (signed-note key name: [a-z0-9._-])", Value: "appliance"},
			pinFileFlag,
			&cli.StringFlag{Name: "so-pin-file", Usage: "with --new-softhsm-token: read the SO PIN from `FILE` (mode 0600)"},
		}, quorumInitFlags()...),
		Action: runInit,
	}
}

func runInit(c *cli.Context) error {
	if err := clirun.Args(c); err != nil {
		return err
	}
	if err := home.ValidateName(c.String("name")); err != nil {
		return clirun.Usage("--name: %v", err)
	}
	newToken := c.Bool("new-softhsm-token")
	plan, err := parseQuorumPlan(c, c.String("name")) // quorumcmd.go
	if err != nil {
		return err
	}
	if c.IsSet("so-pin-file") && !newToken {
		return clirun.Usage("--so-pin-file only applies with --new-softhsm-token")
	}
	pinSrc := userPIN(c)
	var pin, soPIN []byte
	if plan != nil && newToken {
		// With a quorum on a new token nobody chooses the PINs: both are
		// random and exist only as the officers' shares.
		if pin, err = randomPIN(); err == nil {
			soPIN, err = randomPIN()
		}
	} else if newToken {
		pin, err = pinSrc.ReadNew()
	} else {
		pin, err = pinSrc.Read()
	}
	if err != nil {
		return withHints(err)
	}
	defer clear(pin)
	randomSO := false
	if newToken && plan == nil {
		so := hsm.PINSource{What: "HSM SO PIN", EnvVar: hsm.SOPINEnv, File: c.String("so-pin-file")}
		if so.Given() {
			if soPIN, err = so.Read(); err != nil {
				return withHints(err)
			}
			defer clear(soPIN)
		} else {
			randomSO = true
		}
	}
	defer clear(soPIN)
	var shares *writtenShares
	var qcfg *quorum.Config
	if plan != nil {
		// Record before use: the shares are written before the home that
		// needs them exists; a failed init takes them back.
		qs, parts, err := quorum.Split(c.String("name"), quorum.PINs{User: pin, SO: soPIN}, plan.m, plan.officers, rand.Reader)
		if err != nil {
			return err
		}
		if shares, err = writeShares(c.String("name"), plan.out, qs, parts); err != nil {
			return err
		}
		qcfg = qs
	}
	dir := c.String("home")
	err = home.Init(dir, home.InitOptions{
		Quorum:          qcfg,
		Name:            c.String("name"),
		Module:          c.String("hsm-module"),
		TokenLabel:      c.String("token"),
		NewSoftHSMToken: newToken,
		PIN:             pin,
		SOPIN:           soPIN,
	})
	if err != nil {
		if shares != nil {
			shares.remove()
		}
		return withHints(err)
	}
	h, err := home.Open(dir)
	if err != nil {
		return withHints(err)
	}
	defer h.Close()
	cfg := h.Config
	printf("appliance %s initialised in %s\n", cfg.Name, h.Dir())
	printf("token:         %s (%s)\n", cfg.HSM.TokenLabel, cfg.HSM.Module)
	printf("signing key:   %s (Ed25519, in the token)\n", cfg.Keys.Signing.Label)
	printf("PAI key:       %s (P-256, in the token)\n", cfg.Keys.PAI.Label)
	printf("age recipient: %s (identity sealed under %s)\n", cfg.AgeRecipient, cfg.Keys.AgeWrap)
	if lg, err := h.AuditLog(); err == nil {
		if n, err := lg.Size(); err == nil {
			what := "appliance-init, key-generated for each key"
			if shares != nil {
				what += ", quorum-created"
			}
			printf("audit log:     %d entries (%s), first checkpoint signed\n", n, what)
		}
	}
	if shares != nil {
		shares.print(qcfg)
		printf("the token's PINs are random and known to nobody: from now on every command that uses the token\n"+
			"      needs %d officers' --share FILE and --share-identity FILE\n", qcfg.Threshold)
	}
	if randomSO {
		fmt.Fprintln(os.Stderr, "appliance: note: the new token's SO PIN is random and was not kept; set $"+hsm.SOPINEnv+" or --so-pin-file to choose one")
	}
	printf("next: 'appliance paa create-test --vid FFF1' and 'appliance pai create-test --vid FFF1' (development),\n      or 'appliance pai csr' for a real PAA\n")
	return nil
}
