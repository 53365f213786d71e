package station

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/bbolt"
)

// Flashing records (issue 15): what the station wrote into a module's flash
// through the chip's ROM loader, and what the ROM said about the lock. They
// live in their own bucket, as JSON beside the compact module record, so the
// record format does not change. The order is the station's usual one:
// BeginFlash is committed before the first byte is written, RecordFlashed
// only after every region's MD5 matched; a station killed in between finds
// the phase "started" and flashes it again (regions are rewritten whole).

var bucketFlash = []byte("flash") // mac → FlashRecord JSON

// FlashPhase says which images were written.
type FlashPhase string

const (
	// FlashProvisioning: the provisioning firmware, on a blank module.
	FlashProvisioning FlashPhase = "provisioning"
	// FlashProduction: the customer's signed bootloader, partition table and
	// app, after the credentials were written and attested, before the lock.
	FlashProduction FlashPhase = "production"
)

// Flash phase states.
const (
	FlashStarted = "started"
	FlashDone    = "flashed"
)

// FlashedImage is one region.
type FlashedImage struct {
	Name   string `json:"name"`
	Offset uint32 `json:"offset"`
	Size   int    `json:"size"`
	Kind   string `json:"kind"`
	SHA256 string `json:"sha256"` // hex, of the file
}

// FlashStatus is one phase of a module's flashing.
type FlashStatus struct {
	State     string         `json:"state"` // FlashStarted or FlashDone
	Images    []FlashedImage `json:"images"`
	Attempts  int            `json:"attempts"`
	StartedAt time.Time      `json:"started_at"`
	FlashedAt time.Time      `json:"flashed_at,omitzero"`
}

// ROMLockCheck is GET_SECURITY_INFO read through the ROM after the lock.
type ROMLockCheck struct {
	Flags         uint32    `json:"flags"`
	FlashCryptCnt uint8     `json:"flash_crypt_cnt"`
	OK            bool      `json:"ok"`
	Missing       []string  `json:"missing,omitempty"` // what the lock should have set and did not
	CheckedAt     time.Time `json:"checked_at"`
}

// FlashRecord is everything flashed into one module.
type FlashRecord struct {
	MAC          string        `json:"mac"`
	Provisioning *FlashStatus  `json:"provisioning,omitempty"`
	Production   *FlashStatus  `json:"production,omitempty"`
	ROMLockCheck *ROMLockCheck `json:"rom_lock_check,omitempty"`
}

func (r *FlashRecord) phase(p FlashPhase) **FlashStatus {
	if p == FlashProvisioning {
		return &r.Provisioning
	}
	return &r.Production
}

// ErrFlashOrder: a flashing record out of the order the station keeps.
var ErrFlashOrder = errors.New("flashing out of order")

func getFlash(tx *bbolt.Tx, mac string) (*FlashRecord, error) {
	r := &FlashRecord{MAC: mac}
	b := tx.Bucket(bucketFlash)
	if b == nil {
		return r, nil
	}
	if v := b.Get([]byte(mac)); v != nil {
		if err := json.Unmarshal(v, r); err != nil {
			return nil, fmt.Errorf("flash record %s: %w", mac, err)
		}
	}
	return r, nil
}

func (s *Store) updateFlash(name, mac string, fn func(tx *bbolt.Tx, r *FlashRecord) error) (*FlashRecord, error) {
	var out *FlashRecord
	err := safeUpdate(s.db, func(tx *bbolt.Tx) error {
		r, err := getFlash(tx, mac)
		if err != nil {
			return err
		}
		if err := fn(tx, r); err != nil {
			return err
		}
		b, err := tx.CreateBucketIfNotExists(bucketFlash)
		if err != nil {
			return err
		}
		v, err := json.Marshal(r)
		if err != nil {
			return err
		}
		out = r
		return b.Put([]byte(mac), v)
	})
	if err != nil {
		return nil, fmt.Errorf("%s (module %s): %w", name, mac, err)
	}
	return out, nil
}

// BeginFlash records that phase is about to be written with images: it
// must be committed before the first write. Production flashing needs the
// module attested (credentials written and checked) and not yet locking.
func (s *Store) BeginFlash(mac string, phase FlashPhase, images []FlashedImage) (*FlashRecord, error) {
	if phase != FlashProvisioning && phase != FlashProduction {
		return nil, fmt.Errorf("begin flash (module %s): unknown phase %q", mac, phase)
	}
	return s.updateFlash("begin flash", mac, func(tx *bbolt.Tx, r *FlashRecord) error {
		if phase == FlashProduction {
			m, err := getModule(tx, mac)
			if err != nil {
				return err
			}
			if m.State != StateAttested {
				return fmt.Errorf("%w: production images go in after attestation and before the lock; the module is %s", ErrFlashOrder, m.State)
			}
		}
		st := *r.phase(phase)
		attempts := 0
		if st != nil {
			if st.State == FlashDone && phase == FlashProduction {
				return fmt.Errorf("%w: production images already flashed", ErrFlashOrder)
			}
			attempts = st.Attempts
		}
		*r.phase(phase) = &FlashStatus{State: FlashStarted, Images: images, Attempts: attempts + 1, StartedAt: s.now()}
		return nil
	})
}

// RecordFlashed records that every region of phase was written and its MD5
// read back matched. The images must be the ones BeginFlash recorded.
func (s *Store) RecordFlashed(mac string, phase FlashPhase, images []FlashedImage) (*FlashRecord, error) {
	return s.updateFlash("record flashed", mac, func(tx *bbolt.Tx, r *FlashRecord) error {
		st := *r.phase(phase)
		if st == nil || st.State != FlashStarted {
			return fmt.Errorf("%w: %s flashing was not started", ErrFlashOrder, phase)
		}
		if len(st.Images) != len(images) {
			return fmt.Errorf("%w: %d images flashed, %d recorded as started", ErrFlashOrder, len(images), len(st.Images))
		}
		for i := range images {
			if images[i] != st.Images[i] {
				return fmt.Errorf("%w: image %s is not the one recorded as started", ErrFlashOrder, images[i].Name)
			}
		}
		st.State, st.FlashedAt = FlashDone, s.now()
		return nil
	})
}

// RecordROMLockCheck records what the ROM reported after the lock; the
// module must be locked (or done).
func (s *Store) RecordROMLockCheck(mac string, c ROMLockCheck) (*FlashRecord, error) {
	return s.updateFlash("record rom lock check", mac, func(tx *bbolt.Tx, r *FlashRecord) error {
		m, err := getModule(tx, mac)
		if err != nil {
			return err
		}
		if m.State != StateLocked && m.State != StateDone {
			return fmt.Errorf("%w: the ROM lock check comes after the lock; the module is %s", ErrFlashOrder, m.State)
		}
		c.CheckedAt = s.now()
		r.ROMLockCheck = &c
		return nil
	})
}

// Flash returns mac's flashing record (empty phases when never flashed).
func (s *Store) Flash(mac string) (*FlashRecord, error) {
	var out *FlashRecord
	err := s.db.View(func(tx *bbolt.Tx) error {
		r, err := getFlash(tx, mac)
		out = r
		return err
	})
	return out, err
}

// FlashRecords returns every module's flashing record, by MAC (empty when
// the station flashes nothing).
func (s *Store) FlashRecords() (map[string]*FlashRecord, error) {
	out := map[string]*FlashRecord{}
	err := s.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketFlash)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			r := &FlashRecord{}
			if err := json.Unmarshal(v, r); err != nil {
				return fmt.Errorf("flash record %s: %w", k, err)
			}
			out[string(k)] = r
			return nil
		})
	})
	return out, err
}
