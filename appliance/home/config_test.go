package home

import (
	"encoding/json"
	"strings"
	"testing"
)

func validConfig() Config {
	return Config{
		Version: ConfigVersion, Name: "line-1",
		HSM:          HSM{Module: "/usr/lib/softhsm/libsofthsm2.so", TokenLabel: "dacline"},
		Keys:         Keys{Signing: KeyRef{"s", "AAAA"}, PAI: KeyRef{"p", "BBBB"}, AgeWrap: "w"},
		AgeRecipient: "age1xyz",
	}
}

func TestParseConfig(t *testing.T) {
	good, _ := json.Marshal(validConfig())
	if _, err := parseConfig(good); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		mutate func(*Config)
		raw    string
		want   string
	}{
		"version":       {mutate: func(c *Config) { c.Version = 2 }, want: "version 2"},
		"no module":     {mutate: func(c *Config) { c.HSM.Module = "" }, want: "hsm.module"},
		"no token":      {mutate: func(c *Config) { c.HSM.TokenLabel = "" }, want: "hsm.token_label"},
		"no pai key":    {mutate: func(c *Config) { c.Keys.PAI.PublicKey = "" }, want: "keys.pai"},
		"no signing":    {mutate: func(c *Config) { c.Keys.Signing.Label = "" }, want: "keys.signing"},
		"no wrap":       {mutate: func(c *Config) { c.Keys.AgeWrap = "" }, want: "keys.age_wrap"},
		"no recipient":  {mutate: func(c *Config) { c.AgeRecipient = "" }, want: "age_recipient"},
		"bad name":      {mutate: func(c *Config) { c.Name = "Line 1" }, want: "appliance name"},
		"unknown field": {raw: strings.Replace(string(good), `"version"`, `"extra":1,"version"`, 1), want: "unknown field"},
		"trailing":      {raw: string(good) + "{}", want: "trailing data"},
	} {
		t.Run(name, func(t *testing.T) {
			raw := []byte(tc.raw)
			if tc.mutate != nil {
				c := validConfig()
				tc.mutate(&c)
				raw, _ = json.Marshal(c)
			}
			_, err := parseConfig(raw)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func FuzzParseConfig(f *testing.F) {
	good, _ := json.Marshal(validConfig())
	f.Add(good)
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := parseConfig(b)
		if err == nil && c.validate() != nil {
			t.Fatal("parseConfig accepted an invalid config")
		}
	})
}

func FuzzOpenIdentityBlob(f *testing.F) {
	// Everything before the token is consulted: magic and length checks.
	f.Add([]byte(identityMagic))
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if !strings.HasPrefix(string(b), identityMagic) || len(b) < len(identityMagic)+28 {
			if _, err := openIdentity(nil, b); err == nil {
				t.Fatal("short or unmarked blob accepted")
			}
		}
	})
}
