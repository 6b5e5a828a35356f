package webhooks

import (
	"sync"

	"tokendesk/models"
)

// endpointGate keeps at most limit attempts to any one endpoint sending at
// once. A claim over the limit is parked, not waited on, so its worker goes
// on to other endpoints' claims; the worker that finishes an attempt to that
// endpoint sends its next parked claim. How many claims an endpoint can
// have parked is bounded by the pump (claimsPerWorker×limit), which also
// bounds the leases a hanging receiver keeps this process holding.
type endpointGate struct {
	limit int
	mu    sync.Mutex
	eps   map[string]*gateEndpoint
}

type gateEndpoint struct {
	sending int
	parked  []*models.Claim
}

func newEndpointGate(limit int) *endpointGate {
	return &endpointGate{limit: limit, eps: map[string]*gateEndpoint{}}
}

// enter reports whether c may be sent now; when not, c is parked.
func (g *endpointGate) enter(c *models.Claim) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	ep := g.eps[c.Endpoint.ID]
	if ep == nil {
		ep = &gateEndpoint{}
		g.eps[c.Endpoint.ID] = ep
	}
	if ep.sending >= g.limit {
		ep.parked = append(ep.parked, c)
		return false
	}
	ep.sending++
	return true
}

// leave ends an attempt to endpoint id and hands back the claim to send in
// its place, nil when none is parked.
func (g *endpointGate) leave(id string) *models.Claim {
	g.mu.Lock()
	defer g.mu.Unlock()
	ep := g.eps[id]
	if len(ep.parked) > 0 {
		c := ep.parked[0]
		ep.parked[0] = nil
		ep.parked = ep.parked[1:]
		return c
	}
	if ep.sending--; ep.sending == 0 {
		delete(g.eps, id)
	}
	return nil
}

// drain takes every parked claim out (shutdown releases them).
func (g *endpointGate) drain() []*models.Claim {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []*models.Claim
	for _, ep := range g.eps {
		out = append(out, ep.parked...)
		ep.parked = nil
	}
	return out
}
