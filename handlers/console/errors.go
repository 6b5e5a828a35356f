package console

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"tokendesk/models"
	"tokendesk/views"
)

var titles = map[int]string{
	fiber.StatusBadRequest:          "That request was not right",
	fiber.StatusUnauthorized:        "Not allowed",
	fiber.StatusForbidden:           "Not allowed for your role",
	fiber.StatusNotFound:            "Not found",
	fiber.StatusMethodNotAllowed:    "Not available this way",
	fiber.StatusConflict:            "Already exists",
	fiber.StatusTooManyRequests:     "Too many requests",
	fiber.StatusInternalServerError: "Something went wrong on our side",
	fiber.StatusServiceUnavailable:  "Unavailable for now",
}

// fail is the one place the console turns an error into a response. A field
// error goes beside its field when the page has a form for it (onField is
// not nil and takes it); anything else becomes an error page in the
// console's look. Server errors are logged with the request id and shown
// without their details.
func (h *Handler) fail(c *fiber.Ctx, err error, onField func(field, msg string) error) error {
	if e, ok := models.AsError(err); ok {
		if e.Field != "" && onField != nil {
			return onField(e.Field, e.Message)
		}
		status := e.Code.Status()
		if status != fiber.StatusInternalServerError {
			return h.errorPage(c, status, e.Message)
		}
	}
	var fe *fiber.Error
	if errors.As(err, &fe) {
		return h.errorPage(c, fe.Code, fe.Message)
	}
	h.log.Error("console request failed", "request_id", c.Locals(requestIDKey), "path", c.Path(), "error", err)
	return h.errorPage(c, fiber.StatusInternalServerError, "The error was logged. Try again; if it keeps happening, tell whoever runs this server and quote the request id.")
}

// ErrorPage answers a request that failed outside a handler (no route, a
// panic) with a page in the console's look, for every path but the API's.
// The caller has logged the error; the page shows only its status.
func (h *Handler) ErrorPage(c *fiber.Ctx, status int) error {
	msg := ""
	switch {
	case status == fiber.StatusMethodNotAllowed:
		msg = "This address does not take " + c.Method() + " requests."
	case status >= 500:
		msg = "The error was logged. Try again; if it keeps happening, tell whoever runs this server and quote the request id."
	}
	return h.errorPage(c, status, msg)
}

func (h *Handler) errorPage(c *fiber.Ctx, status int, msg string) error {
	title := titles[status]
	if title == "" {
		title = "Error"
	}
	if status == fiber.StatusNotFound && (msg == "" || msg == "Cannot "+c.Method()+" "+c.Path() || msg == fiber.ErrNotFound.Message) {
		msg = "There is no page at this address in this console."
	}
	v := views.ErrorView{Status: status, Title: title, Message: msg}
	v.RequestID, _ = c.Locals(requestIDKey).(string)
	if session(c) == nil {
		// Pages outside the signed-in routes (an unknown path) still show
		// the header when the visitor has a session.
		if s, err := h.store.LookupSession(c.UserContext(), c.Cookies(sessionCookie), h.idle); err == nil {
			c.Locals(localSession, s)
		}
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	if session(c) != nil {
		return render(c, status, views.ErrorPage(h.page(c, title, ""), v))
	}
	return render(c, status, views.BareErrorPage(h.bareAssets(), v))
}
