package hsm

import (
	"fmt"

	"github.com/miekg/pkcs11"
)

// pool hands out the token's sessions. A PKCS#11 session runs one operation at a
// time, so each caller takes one from the channel and gives it back. A zero handle
// in the channel is a free place whose session is opened when it is taken, so a
// discarded session is replaced lazily and a failing token costs no capacity.
type pool struct {
	ctx   PKCtx
	slot  uint
	login func(pkcs11.SessionHandle) error
	ch    chan pkcs11.SessionHandle
	done  chan struct{}
	size  int
}

func newPool(ctx PKCtx, slot uint, size int, login func(pkcs11.SessionHandle) error) *pool {
	p := &pool{ctx: ctx, slot: slot, login: login, ch: make(chan pkcs11.SessionHandle, size), done: make(chan struct{}), size: size}
	for range size {
		p.ch <- 0
	}
	return p
}

// take returns an open, logged-in session.
func (p *pool) take() (pkcs11.SessionHandle, error) { return p.get(false) }

// takeFresh returns a newly opened session, closing the pooled one it replaces:
// after the token declared one session gone, the others are suspect too (a token
// reset or re-insertion invalidates them all).
func (p *pool) takeFresh() (pkcs11.SessionHandle, error) { return p.get(true) }

func (p *pool) get(fresh bool) (pkcs11.SessionHandle, error) {
	var sh pkcs11.SessionHandle
	select {
	case <-p.done:
		return 0, ErrClosed
	case sh = <-p.ch:
	}
	if sh != 0 && !fresh {
		return sh, nil
	}
	if sh != 0 {
		_ = p.ctx.CloseSession(sh)
	}
	sh, err := p.ctx.OpenSession(p.slot, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
	if err != nil {
		p.ch <- 0
		return 0, fmt.Errorf("open session: %w", tokenGoneErr(err))
	}
	if err := p.login(sh); err != nil {
		_ = p.ctx.CloseSession(sh)
		p.ch <- 0
		return 0, err
	}
	return sh, nil
}

func (p *pool) give(sh pkcs11.SessionHandle) { p.ch <- sh }

// discard closes a session the token declared gone and frees its place.
func (p *pool) discard(sh pkcs11.SessionHandle) {
	_ = p.ctx.CloseSession(sh)
	p.ch <- 0
}

// close waits for every session to come back and closes them all.
func (p *pool) close() {
	close(p.done)
	for range p.size {
		if sh := <-p.ch; sh != 0 {
			_ = p.ctx.CloseSession(sh)
		}
	}
}

// tokenGoneErr marks errors that mean the token is no longer there.
func tokenGoneErr(err error) error {
	if isRV(err, pkcs11.CKR_DEVICE_REMOVED, pkcs11.CKR_TOKEN_NOT_PRESENT, pkcs11.CKR_SLOT_ID_INVALID) {
		return fmt.Errorf("%w: %w", ErrTokenRemoved, err)
	}
	return err
}
