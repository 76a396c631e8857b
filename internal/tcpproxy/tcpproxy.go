// Package tcpproxy is a TCP proxy for tests that can cut every connection
// passing through it and refuse new ones until restored: a broker link
// failing mid-stream, as the ingest and fault tests need it.
package tcpproxy

import (
	"io"
	"net"
	"sync"
)

// Proxy forwards connections accepted on its address to a target.
type Proxy struct {
	ln     net.Listener
	mu     sync.Mutex
	target string
	conns  []net.Conn
	cut    bool
}

// Listen opens the proxy's listener on a free loopback port. Nothing is
// forwarded until Start names the target, so the address can be handed
// out (advertised by a broker) before the target exists.
func Listen() (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	return &Proxy{ln: ln}, nil
}

// Addr is the proxy's address.
func (p *Proxy) Addr() net.Addr { return p.ln.Addr() }

// Start forwards every connection accepted from now on to target.
func (p *Proxy) Start(target string) {
	p.mu.Lock()
	p.target = target
	p.mu.Unlock()
	go p.serve()
}

func (p *Proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		go func() { io.Copy(up, c); up.Close() }()
		go func() { io.Copy(c, up); c.Close() }()
	}
}

// SetCut cuts every connection and refuses new ones (true), or lets new
// ones through again (false). It returns how many connections it cut.
func (p *Proxy) SetCut(cut bool) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	n := 0
	if cut {
		for _, c := range p.conns {
			if c.Close() == nil {
				n++
			}
		}
		p.conns = nil
	}
	return n
}

// Close stops accepting and cuts every connection.
func (p *Proxy) Close() {
	p.ln.Close()
	p.SetCut(true)
}
