package console

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"time"

	"tokendesk/models"
	"tokendesk/views"
)

// deliveryRows turns deliveries into table rows, naming each endpoint with
// one query for the page's endpoints (deleted ones included).
func (h *Handler) deliveryRows(ctx context.Context, m models.Mode, ds []models.Delivery) ([]views.DeliveryListRow, error) {
	ids := make([]string, 0, 4)
	seen := map[string]bool{}
	for _, d := range ds {
		if !seen[d.EndpointID] {
			seen[d.EndpointID] = true
			ids = append(ids, d.EndpointID)
		}
	}
	names, err := h.store.EndpointNames(ctx, m, ids)
	if err != nil {
		return nil, err
	}
	rows := make([]views.DeliveryListRow, len(ds))
	for i := range ds {
		rows[i] = deliveryRow(&ds[i], names[ds[i].EndpointID])
	}
	return rows, nil
}

func deliveryRow(d *models.Delivery, endpointName string) views.DeliveryListRow {
	if endpointName == "" {
		endpointName = d.EndpointID
	}
	return views.DeliveryListRow{
		ID: d.ID, EventID: d.EventID, EventType: d.EventType, UserID: d.UserID, Test: d.UserID == models.TestEventUserID,
		EndpointID: d.EndpointID, Endpoint: endpointName, Status: d.Shown(), Attempts: d.AttemptCount,
		LastCode: d.LastStatusCode, LastError: d.LastError, NextAttemptAt: d.NextAttemptAt, CreatedAt: d.CreatedAt,
	}
}

// anyPending reports whether a page shows work still in progress, which
// makes it refresh itself.
func anyPending(rows []views.DeliveryListRow) bool {
	for _, r := range rows {
		if r.Status == models.DeliveryPending || r.Status == models.DeliveryRetrying {
			return true
		}
	}
	return false
}

// liveRefreshSeconds is how often a page with pending deliveries reloads.
const liveRefreshSeconds = 3

// datetimeLayouts are what a datetime-local box sends, and a plain day.
var datetimeLayouts = []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02"}

// timeRange reads the from and to boxes of a list filter, with a message
// beside whichever is wrong: the same rules on every list.
func timeRange(from, to string, errs map[string]string) (start, end *time.Time) {
	var ok bool
	if start, ok = parseWhen(from); !ok {
		errs["from"] = badWhen
	}
	if end, ok = parseWhen(to); !ok {
		errs["to"] = badWhen
	} else if end != nil && start != nil && !start.Before(*end) {
		errs["to"] = "The end is not after the start."
	}
	return start, end
}

// parseWhen reads a time from a filter box, in UTC; "" is no time.
func parseWhen(s string) (*time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, true
	}
	for _, l := range datetimeLayouts {
		if t, err := time.ParseInLocation(l, s, time.UTC); err == nil {
			return &t, true
		}
	}
	return nil, false
}

// formatWhen writes t the way a datetime-local box shows it.
func formatWhen(t time.Time) string { return t.UTC().Format("2006-01-02T15:04") }

const badWhen = "Use a time like 2026-01-31T14:05 (UTC) or a day like 2026-01-31."

// prettyJSON indents a stored JSON document for reading, keeping its keys
// in the order they were sent; anything that is not JSON is shown as it is.
func prettyJSON(raw string) string {
	var b bytes.Buffer
	if err := json.Indent(&b, []byte(raw), "", "  "); err != nil {
		return raw
	}
	return b.String()
}

// listURLs builds a list's "newest" and "older" links from its filters.
func listURLs(base string, q url.Values, cursor *models.Cursor, next string) (first, older string) {
	for k, vs := range q {
		if len(vs) == 0 || vs[0] == "" {
			q.Del(k)
		}
	}
	if cursor != nil {
		first = base
		if enc := q.Encode(); enc != "" {
			first += "?" + enc
		}
	}
	if next != "" {
		q.Set("cursor", next)
		older = base + "?" + q.Encode()
	}
	return first, older
}
