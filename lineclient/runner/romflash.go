package runner

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/dacline/dacline/lineclient/esp/espimage"
	"github.com/dacline/dacline/lineclient/esp/romloader"
	"github.com/dacline/dacline/lineclient/station"
)

// The flashing step (issue 15). A module is flashed through its chip's ROM
// loader, on a jig that holds it in download mode: the provisioning
// firmware on a blank module, and — after its credentials are written and
// attested, before the lock — the customer's signed production images. The
// order is the station's usual one: the images are checked, "flashing
// started" is recorded, the regions are written and each is read back by
// MD5, and only then is "flashed" recorded with every image's SHA-256.
// After the lock, CheckROMLock reads GET_SECURITY_INFO through the ROM: a
// second check of the lock that does not rest on the provisioning
// firmware's answer.

// FlashPlanFile is the product's flashing settings in the station home.
const FlashPlanFile = "flash.json"

// StepWaitFlash: an attested module waits for its production images (the
// operator puts it in download mode and runs 'lineclient flash module').
const StepWaitFlash Step = "wait-for-flash"

// FlashPlan is what a product flashes.
type FlashPlan struct {
	// KeyDigests are the Secure Boot V2 key digests allowed to sign the
	// images (the ones the customer burns into eFuse).
	KeyDigests   []espimage.KeyDigest
	Provisioning []espimage.Write
	Production   []espimage.Write
}

type flashPlanJSON struct {
	KeyDigests   []string        `json:"key_digests"`
	Provisioning []flashFileJSON `json:"provisioning"`
	Production   []flashFileJSON `json:"production"`
}

type flashFileJSON struct {
	Offset string `json:"offset"`
	File   string `json:"file"`
}

// LoadFlashPlan reads a flash.json: key digests as 64 hex digits, images
// as {"offset": "0x20000", "file": "app.bin"} with files relative to the
// plan's directory. The files are read now; their checks come when a chip
// is on the jig.
func LoadFlashPlan(path string) (*FlashPlan, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("flash plan: %w", err)
	}
	var pj flashPlanJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&pj); err != nil {
		return nil, fmt.Errorf("flash plan %s: %w", path, err)
	}
	plan := &FlashPlan{}
	if len(pj.KeyDigests) == 0 {
		return nil, fmt.Errorf("flash plan %s: no key_digests: every image must be signed by one of the product's keys", path)
	}
	for i, s := range pj.KeyDigests {
		d, err := espimage.ParseKeyDigest([]byte(s))
		if err != nil {
			return nil, fmt.Errorf("flash plan %s: key_digests[%d]: %w", path, i, err)
		}
		plan.KeyDigests = append(plan.KeyDigests, d)
	}
	dir := filepath.Dir(path)
	load := func(name string, files []flashFileJSON) ([]espimage.Write, error) {
		var out []espimage.Write
		for i, f := range files {
			off, err := strconv.ParseUint(f.Offset, 0, 32)
			if err != nil {
				return nil, fmt.Errorf("flash plan %s: %s[%d]: offset %q is not a number", path, name, i, f.Offset)
			}
			p := f.File
			if !filepath.IsAbs(p) {
				p = filepath.Join(dir, p)
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return nil, fmt.Errorf("flash plan %s: %s[%d]: %w", path, name, i, err)
			}
			out = append(out, espimage.Write{Name: filepath.Base(f.File), Offset: uint32(off), Data: data})
		}
		return out, nil
	}
	if plan.Provisioning, err = load("provisioning", pj.Provisioning); err != nil {
		return nil, err
	}
	if plan.Production, err = load("production", pj.Production); err != nil {
		return nil, err
	}
	return plan, nil
}

// Flasher runs the recorded flashing step on a module in its ROM loader.
type Flasher struct {
	Store *station.Store
	Plan  *FlashPlan
	// Attempts per region (default 3).
	Attempts int
	// Progress, if set, follows each region.
	Progress func(w espimage.Checked, done, total int)
}

// ErrNothingToFlash: the plan has no images for the phase.
var ErrNothingToFlash = errors.New("no images configured")

func (f *Flasher) images(phase station.FlashPhase) []espimage.Write {
	if phase == station.FlashProvisioning {
		return f.Plan.Provisioning
	}
	return f.Plan.Production
}

func flashedImages(cs []espimage.Checked) []station.FlashedImage {
	out := make([]station.FlashedImage, len(cs))
	for i, c := range cs {
		out[i] = station.FlashedImage{Name: c.Name, Offset: c.Offset, Size: len(c.Data), Kind: c.Kind, SHA256: hex.EncodeToString(c.SHA256[:])}
	}
	return out
}

// Flash writes phase's images into the module behind c (connected and
// detected) and records it: "started" once every image passed its checks
// and before the first write, "flashed" once every region's MD5 matched.
// The module is named by the MAC its eFuses give through the ROM.
func (f *Flasher) Flash(c *romloader.Client, phase station.FlashPhase) (*station.FlashRecord, error) {
	ws := f.images(phase)
	if len(ws) == 0 {
		return nil, fmt.Errorf("flash %s: %w for this phase in %s", phase, ErrNothingToFlash, FlashPlanFile)
	}
	if c.SecureDownload {
		return nil, fmt.Errorf("flash %s: %w: the module is in secure download mode, where its MAC and the MD5 read-back cannot be had", phase, romloader.ErrRefused)
	}
	raw, err := c.ReadMAC()
	if err != nil {
		return nil, fmt.Errorf("flash %s: %w", phase, err)
	}
	mac := FormatMAC(raw)
	var checked []espimage.Checked
	opts := romloader.FlashOptions{Verify: true, Compress: true, Attempts: f.Attempts, Progress: f.Progress,
		Before: func(cs []espimage.Checked) error {
			checked = cs
			// Record, then act: committed before the first byte is written.
			_, err := f.Store.BeginFlash(mac, phase, flashedImages(cs))
			return err
		}}
	if _, err := c.FlashImages(ws, espimage.Policy{KeyDigests: f.Plan.KeyDigests}, opts); err != nil {
		return nil, fmt.Errorf("module %s: flash %s: %w", mac, phase, err)
	}
	rec, err := f.Store.RecordFlashed(mac, phase, flashedImages(checked))
	if err != nil {
		return nil, err
	}
	return rec, nil
}

// ErrROMLockIncomplete: the ROM reports a lock bit missing.
var ErrROMLockIncomplete = errors.New("rom reports the lock incomplete")

// CheckROMLock reads GET_SECURITY_INFO through the ROM of the module
// behind c, which the station identified as mac on this jig (in secure
// download mode the ROM no longer gives the MAC), and records it. The lock
// is complete when flash encryption is in release mode
// (SPI_BOOT_CRYPT_CNT = 7), secure boot is on, JTAG is disabled and secure
// download mode is enabled (ESP-FACTS §7).
func (f *Flasher) CheckROMLock(c *romloader.Client, mac string) (*station.ROMLockCheck, error) {
	if !c.Chip.HasSecurityInfo {
		return nil, fmt.Errorf("module %s: %s's ROM has no GET_SECURITY_INFO: the ROM lock check needs an ESP32-S2 or later", mac, c.Chip.Name)
	}
	si, err := c.GetSecurityInfo()
	if err != nil {
		return nil, fmt.Errorf("module %s: rom lock check: %w", mac, err)
	}
	chk := station.ROMLockCheck{Flags: si.Flags, FlashCryptCnt: si.FlashCryptCnt}
	if si.FlashCryptCnt&7 != 7 {
		chk.Missing = append(chk.Missing, fmt.Sprintf("SPI_BOOT_CRYPT_CNT=7 (is %d)", si.FlashCryptCnt))
	}
	if !si.SecureBoot() {
		chk.Missing = append(chk.Missing, "SECURE_BOOT_EN")
	}
	if !si.JTAGDisabled() {
		chk.Missing = append(chk.Missing, "SOFT_DIS_JTAG or HARD_DIS_JTAG")
	}
	if !si.SecureDownload() {
		chk.Missing = append(chk.Missing, "SECURE_DOWNLOAD_ENABLE")
	}
	chk.OK = len(chk.Missing) == 0
	if _, err := f.Store.RecordROMLockCheck(mac, chk); err != nil {
		return nil, err
	}
	if !chk.OK {
		return &chk, fmt.Errorf("module %s: %w: missing %v", mac, ErrROMLockIncomplete, chk.Missing)
	}
	return &chk, nil
}

// waitForFlash reports whether an attested module must wait for its
// production images before the lock.
func (p *Provisioner) waitForFlash(mac string) (bool, error) {
	if !p.FlashProduction {
		return false, nil
	}
	rec, err := p.Store.Flash(mac)
	if err != nil {
		return false, err
	}
	return rec.Production == nil || rec.Production.State != station.FlashDone, nil
}
