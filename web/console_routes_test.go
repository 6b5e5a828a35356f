package web

import (
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"tokendesk/models"
)

// publicRoutes may be reached without a session. Everything else that is
// not the API is a console route and must carry all its guards.
var publicRoutes = map[string]bool{
	"GET /healthz":         true,
	"GET /metrics":         true,
	"GET /static/:name":    true,
	"GET /login":           true,
	"POST /login":          true,
	"POST /login/2fa":      true, // the sign-in's second step: its own CSRF cookie and challenge
	"GET /demo":            true,
	"GET /static/wink.js":  true,
	"GET /static/demo.js":  true,
	"GET /static/demo.css": true,
}

// consoleRoles is the least role of each console route. A route missing
// here fails the test: adding a page means saying who may use it.
var consoleRoles = map[string]models.Role{
	"POST /logout":                models.RoleSupport,
	"GET /":                       models.RoleSupport,
	"GET /search":                 models.RoleSupport,
	"POST /mode":                  models.RoleSupport,
	"GET /users":                  models.RoleSupport,
	"GET /users/new":              models.RoleDeveloper,
	"POST /users":                 models.RoleDeveloper,
	"GET /users/:id":              models.RoleSupport,
	"POST /users/:id/tokens":      models.RoleSupport,
	"POST /tokens/:id/revoke":     models.RoleDeveloper,
	"GET /tokens/inspect":         models.RoleSupport,
	"POST /tokens/inspect":        models.RoleSupport,
	"GET /widget":                 models.RoleSupport,
	"POST /widget":                models.RoleSupport,
	"GET /keys":                   models.RoleDeveloper,
	"POST /deliveries/resend":     models.RoleSupport,
	"GET /keys/:id":               models.RoleDeveloper,
	"POST /keys":                  models.RoleDeveloper,
	"POST /keys/:id/revoke":       models.RoleDeveloper,
	"GET /audit":                  models.RoleSupport,
	"GET /sessions":               models.RoleSupport,
	"POST /sessions/:id/revoke":   models.RoleSupport,
	"GET /retention":              models.RoleAdmin,
	"GET /operators":              models.RoleAdmin,
	"POST /operators":             models.RoleAdmin,
	"POST /operators/:id/disable": models.RoleAdmin,
	"POST /operators/:id/enable":  models.RoleAdmin,

	"GET /webhooks":                       models.RoleSupport,
	"GET /webhooks/new":                   models.RoleDeveloper,
	"POST /webhooks":                      models.RoleDeveloper,
	"GET /webhooks/:id":                   models.RoleSupport,
	"POST /webhooks/:id":                  models.RoleDeveloper,
	"POST /webhooks/:id/delete":           models.RoleDeveloper,
	"POST /webhooks/:id/enable":           models.RoleDeveloper,
	"POST /webhooks/:id/secret":           models.RoleDeveloper,
	"POST /webhooks/:id/rotate":           models.RoleDeveloper,
	"POST /webhooks/:id/test":             models.RoleDeveloper,
	"POST /webhooks/:id/recover":          models.RoleDeveloper,
	"GET /deliveries":                     models.RoleSupport,
	"GET /deliveries/:id":                 models.RoleSupport,
	"POST /deliveries/:id/resend":         models.RoleSupport,
	"GET /events":                         models.RoleSupport,
	"GET /events/:id":                     models.RoleSupport,
	"GET /requests":                       models.RoleSupport,
	"GET /requests/:id":                   models.RoleSupport,
	"GET /operators/:id":                  models.RoleAdmin,
	"POST /operators/:id/role":            models.RoleAdmin,
	"POST /operators/:id/sessions/revoke": models.RoleAdmin,
	"POST /operators/:id/password":        models.RoleAdmin,
	"POST /operators/:id/2fa/reset":       models.RoleAdmin,
	"POST /operators/2fa/require":         models.RoleAdmin,
	"GET /account/2fa":                    models.RoleSupport,
	"POST /account/2fa":                   models.RoleSupport,
	"POST /account/2fa/recovery":          models.RoleSupport,
	"POST /account/2fa/off":               models.RoleSupport,
	"POST /account/timezone":              models.RoleSupport,
	"GET /account":                        models.RoleSupport,
	"POST /account/password":              models.RoleSupport,
}

func consoleRoutesOf(a *App) []fiber.Route {
	var out []fiber.Route
	for _, r := range a.Fiber().GetRoutes(true) {
		if r.Method == fiber.MethodHead || strings.HasPrefix(r.Path, "/v1") {
			continue
		}
		if publicRoutes[r.Method+" "+r.Path] {
			continue
		}
		out = append(out, r)
	}
	return out
}

func funcPointer(h fiber.Handler) uintptr { return reflect.ValueOf(h).Pointer() }

func TestEveryConsoleRouteIsGuarded(t *testing.T) {
	a := newConsoleApp(t)
	con := a.console
	session, csrf := funcPointer(con.RequireSession), funcPointer(con.CSRF)
	role := funcPointer(con.Role(models.RoleSupport)) // every Role(...) guard shares this code
	routes := consoleRoutesOf(a)
	if len(routes) < len(consoleRoles) {
		t.Fatalf("found %d console routes, but the table names %d", len(routes), len(consoleRoles))
	}
	for _, r := range routes {
		key := r.Method + " " + r.Path
		t.Run(key+" has its guards in order", func(t *testing.T) {
			if _, ok := consoleRoles[key]; !ok {
				t.Fatalf("%s is not in consoleRoles: say which role may use it", key)
			}
			var got []string
			for _, h := range r.Handlers[:len(r.Handlers)-1] {
				switch funcPointer(h) {
				case session:
					got = append(got, "session")
				case csrf:
					got = append(got, "csrf")
				case role:
					got = append(got, "role")
				}
			}
			want := "session role"
			if r.Method != fiber.MethodGet {
				want = "session csrf role"
			}
			if g := strings.Join(got, " "); g != want {
				t.Fatalf("guards are %q, want %q", g, want)
			}
		})
	}
}

// routeURL fills a route's parameters with a placeholder.
func routeURL(path string) string {
	parts := strings.Split(path, "/")
	for i, p := range parts {
		if strings.HasPrefix(p, ":") {
			parts[i] = "unknown"
		}
	}
	return strings.Join(parts, "/")
}

func TestConsoleRoutesRefuseWhatTheirGuardsSay(t *testing.T) {
	a := newConsoleApp(t)
	anon := a.client(t)
	support := a.signedIn(t, models.RoleSupport)
	developer := a.signedIn(t, models.RoleDeveloper)
	for _, r := range consoleRoutesOf(a) {
		key := r.Method + " " + r.Path
		min := consoleRoles[key]
		u := routeURL(r.Path)
		t.Run(key+" sends a visitor without a session to sign in", func(t *testing.T) {
			resp := anon.do(r.Method, u, url.Values{})
			if got := resp.StatusCode; got != http.StatusSeeOther {
				t.Fatalf("status %d, want 303", got)
			}
			if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "/login") {
				t.Fatalf("redirects to %q, want /login", loc)
			}
		})
		if r.Method == fiber.MethodPost {
			t.Run(key+" refuses a form without the CSRF token", func(t *testing.T) {
				resp, doc, _ := developer.page(r.Method, u, url.Values{"_csrf": {"forged"}})
				if got := resp.StatusCode; got != http.StatusForbidden {
					t.Fatalf("status %d, want 403", got)
				}
				if doc.Find(`[data-testid=error-page]`).Length() != 1 {
					t.Fatal("no error page")
				}
			})
		}
		for _, c := range []struct {
			who  string
			b    *browserless
			role models.Role
		}{{"support", support, models.RoleSupport}, {"developer", developer, models.RoleDeveloper}} {
			if c.role.AtLeast(min) {
				continue
			}
			t.Run(key+" refuses "+c.who, func(t *testing.T) {
				var resp *http.Response
				var body string
				if r.Method == fiber.MethodPost {
					resp, _, body = c.b.post(u, nil)
				} else {
					resp, _, body = c.b.page(r.Method, u, nil)
				}
				if got := resp.StatusCode; got != http.StatusForbidden {
					t.Fatalf("status %d, want 403", got)
				}
				if !strings.Contains(body, "Your role ("+c.who+") may not do this") {
					t.Fatalf("the page does not say why: %s", body)
				}
			})
		}
	}
}
