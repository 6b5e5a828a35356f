package web

import (
	"context"
	"time"

	"tokendesk/models"
)

// pruneLoop deletes what the retention no longer keeps (expired tokens,
// ended sessions, old attempts, deliveries, events and API requests) at start and then
// every period, until ctx ends. Each batch is a short transaction of its
// own (models.PruneBatch rows), so requests never wait for a whole prune.
func (a *App) pruneLoop(ctx context.Context, period time.Duration) {
	defer close(a.swept)
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		counts, err := a.store.Prune(ctx, a.cfg.Retention)
		if err != nil && ctx.Err() == nil {
			a.log.Error("prune by retention failed", "error", err)
		}
		args := []any{}
		for _, k := range models.PruneKinds {
			if counts[k] > 0 {
				args = append(args, k, counts[k])
			}
		}
		if len(args) > 0 {
			a.log.Info("pruned by retention", args...)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
