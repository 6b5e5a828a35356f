package console

import (
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"tokendesk/models"
	"tokendesk/views"
)

const requestsPageSize = 50

// RequestList is the API request log: what the mode's keys asked and how
// each request was answered, filterable by status, path, key, user and time.
func (h *Handler) RequestList(c *fiber.Ctx) error {
	v := views.RequestsView{
		Status: strings.TrimSpace(c.Query("status")), Path: strings.TrimSpace(c.Query("path")),
		KeyID: strings.TrimSpace(c.Query("key")), UserID: strings.TrimSpace(c.Query("user")),
		From: strings.TrimSpace(c.Query("from")), To: strings.TrimSpace(c.Query("to")), Errors: map[string]string{},
	}
	v.Filtered = v.Status != "" || v.Path != "" || v.KeyID != "" || v.UserID != "" || v.From != "" || v.To != ""
	f := models.APIRequestFilter{Size: requestsPageSize}
	var err error
	if f.Status, err = models.ParseStatusClass(v.Status); err != nil {
		v.Errors["status"] = "Choose errors, 2xx, 4xx or 5xx, or type a status such as 404."
	}
	if v.Path != "" {
		if len(v.Path) > 200 || !strings.HasPrefix(v.Path, "/") {
			v.Errors["path"] = "Type the start of a path, such as /v1/tokens."
		}
		f.PathPrefix = &v.Path
	}
	for _, s := range []struct {
		field string
		val   *string
		into  **string
	}{{"key", &v.KeyID, &f.APIKeyID}, {"user", &v.UserID, &f.UserID}} {
		if *s.val != "" {
			if len(*s.val) > 200 {
				v.Errors[s.field] = "Ids are shorter than 200 characters."
			}
			*s.into = s.val
		}
	}
	f.CreatedFrom, f.CreatedBefore = timeRange(v.From, v.To, v.Errors)
	if f.Cursor, err = models.DecodeCursor(c.Query("cursor")); err != nil {
		return h.fail(c, err, nil)
	}
	p := h.page(c, "API requests", "requests")
	if len(v.Errors) > 0 {
		return render(c, fiber.StatusBadRequest, views.Requests(p, v))
	}
	page, err := h.store.ListAPIRequests(c.UserContext(), mode(c), f)
	if err != nil {
		return h.fail(c, err, nil)
	}
	v.Items = requestRows(page.Items)
	q := url.Values{"status": {v.Status}, "path": {v.Path}, "key": {v.KeyID}, "user": {v.UserID}, "from": {v.From}, "to": {v.To}}
	v.FirstURL, v.NextURL = listURLs("/requests", q, f.Cursor, page.NextCursor)
	return render(c, fiber.StatusOK, views.Requests(p, v))
}

func requestRows(rs []models.APIRequest) []views.RequestRow {
	rows := make([]views.RequestRow, len(rs))
	for i := range rs {
		rows[i] = requestRow(&rs[i])
	}
	return rows
}

func requestRow(r *models.APIRequest) views.RequestRow {
	return views.RequestRow{
		ID: r.ID, Method: r.Method, Path: r.Path, Query: r.Query, Status: r.Status, ErrorCode: r.ErrorCode,
		KeyID: r.APIKeyID, Key: r.APIKey, UserID: r.UserID, CreatedAt: r.CreatedAt,
		Duration: views.Latency(time.Duration(r.DurationUS) * time.Microsecond),
	}
}
