package models

import (
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"
)

// planProblem asks SQLite how it would run the query built by q and says
// what is wrong when the plan reads a whole table or sorts rows an index
// could give in order; "" when the plan is good.
func planProblem(t *testing.T, s *Store, q func(tx *gorm.DB) *gorm.DB, allowSort bool) string {
	t.Helper()
	sql := s.R.ToSQL(q)
	var rows []struct {
		Detail string
	}
	if err := s.R.Raw("EXPLAIN QUERY PLAN " + sql).Scan(&rows).Error; err != nil {
		t.Fatalf("explain %s: %v", sql, err)
	}
	var plan []string
	for _, r := range rows {
		plan = append(plan, r.Detail)
	}
	joined := strings.Join(plan, "\n")
	for _, bad := range []string{"SCAN users", "SCAN user_metadata", "USE TEMP B-TREE FOR ORDER BY"} {
		if allowSort && strings.HasPrefix(bad, "USE TEMP") {
			continue
		}
		if strings.Contains(joined, bad) {
			return sql + "\nplan:\n" + joined
		}
	}
	return ""
}

func TestListQueriesUseIndices(t *testing.T) {
	s, err := Open(Options{Path: t.TempDir() + "/db", TenantID: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	day := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	next := day.AddDate(0, 0, 1)
	value := "42"
	cursor := &Cursor{At: day, ID: "acme-0"}
	tests := []struct {
		name string
		f    UserFilter
	}{
		{"lists users with no filter", UserFilter{Size: 10}},
		{"lists users after a cursor", UserFilter{Size: 10, Cursor: cursor}},
		{"lists users created in a date range", UserFilter{Size: 10, CreatedFrom: &day, CreatedBefore: &next}},
		{"lists users by a metadata value", UserFilter{Size: 10, MetadataValue: &value}},
		{"lists users by a metadata value after a cursor", UserFilter{Size: 10, MetadataValue: &value, Cursor: cursor}},
	}
	t.Run("notices a query that reads the whole table", func(t *testing.T) {
		if planProblem(t, s, func(tx *gorm.DB) *gorm.DB {
			return tx.Model(&User{}).Where("external_metadata = ?", "{}").Find(&[]User{})
		}, false) == "" {
			t.Error("a full scan passed the check")
		}
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Users found by a metadata value are sorted after the lookup:
			// their number is bounded by how many hold the value.
			allowSort := tt.f.MetadataValue != nil
			if p := planProblem(t, s, func(tx *gorm.DB) *gorm.DB { return userListQuery(s.d, tx, Sandbox, tt.f).Find(&[]User{}) }, allowSort); p != "" {
				t.Error(p)
			}
		})
	}
}

func TestSearchByMetadataReadsTheNocaseIndex(t *testing.T) {
	s, err := Open(Options{Path: t.TempDir() + "/db", TenantID: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for name, q := range map[string]func(tx *gorm.DB) *gorm.DB{
		"equal in any case": func(tx *gorm.DB) *gorm.DB {
			return tx.Raw(`SELECT user_id, key, value FROM user_metadata WHERE mode = ? AND value = ? COLLATE NOCASE LIMIT 21`, Sandbox, "x")
		},
		"starting with": func(tx *gorm.DB) *gorm.DB {
			return tx.Raw(`SELECT user_id, key, value FROM user_metadata WHERE mode = ? AND value LIKE ? ESCAPE '\' LIMIT 21`, Sandbox, likePrefix("cust-"))
		},
	} {
		t.Run(name, func(t *testing.T) {
			var rows []struct{ Detail string }
			if err := s.R.Raw("EXPLAIN QUERY PLAN " + s.R.ToSQL(q)).Scan(&rows).Error; err != nil {
				t.Fatal(err)
			}
			if len(rows) == 0 || !strings.Contains(rows[0].Detail, "user_metadata_value_nocase") || !strings.Contains(rows[0].Detail, "value>") && name == "starting with" {
				t.Fatalf("plan %+v does not read a range of user_metadata_value_nocase", rows)
			}
		})
	}
}

func TestRequestLogListsReadAnIndexInOrder(t *testing.T) {
	s, err := Open(Options{Path: t.TempDir() + "/db", TenantID: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	key, path := "k1", "/v1/tokens"
	errs, _ := ParseStatusClass("errors")
	cur := &Cursor{At: time.Now(), ID: "x"}
	for _, c := range []struct {
		name  string
		f     APIRequestFilter
		index string
	}{
		{"the mode's newest", APIRequestFilter{Size: 50}, "api_requests_mode_created"},
		{"after a cursor", APIRequestFilter{Size: 50, Cursor: cur}, "api_requests_mode_created"},
		{"a key's", APIRequestFilter{Size: 20, APIKeyID: &key}, "api_requests_key_created"},
		{"errors", APIRequestFilter{Size: 50, Status: errs}, "api_requests_errors_created"},
		{"a path", APIRequestFilter{Size: 50, PathPrefix: &path}, "api_requests_mode_created"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, sql := requestsPlan(t, s, func(tx *gorm.DB) *gorm.DB { return apiRequestListQuery(tx, Sandbox, c.f) })
			if !strings.Contains(got, c.index) || strings.Contains(got, "SCAN api_requests") || strings.Contains(got, "TEMP B-TREE FOR ORDER BY") {
				t.Fatalf("%s\nplan:\n%s", sql, got)
			}
		})
	}
}

// A user's requests: the entries of api_request_users walked along that
// table's key, newest first, each joined to its request by id; and the
// log's rows not yet indexed, read as a rowid range, never by walking a
// time index of the whole mode. Filters and a cursor keep both so.
func TestUserRequestsReadTheirIndexAndARowidRange(t *testing.T) {
	s, err := Open(Options{Path: t.TempDir() + "/db", TenantID: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	user, key := "acme-1", "k1"
	errs, _ := ParseStatusClass("errors")
	cur := &Cursor{At: time.Now(), ID: "x"}
	for _, c := range []struct {
		name string
		f    APIRequestFilter
	}{
		{"newest", APIRequestFilter{Size: 20, UserID: &user}},
		{"after a cursor", APIRequestFilter{Size: 20, UserID: &user, Cursor: cur}},
		{"errors with a key", APIRequestFilter{Size: 20, UserID: &user, Status: errs, APIKeyID: &key}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, sql := requestsPlan(t, s, func(tx *gorm.DB) *gorm.DB { return userRequestsQuery(tx, Sandbox, c.f) })
			if !strings.Contains(got, "SEARCH u USING PRIMARY KEY (user_id=?") || !strings.Contains(got, "SEARCH r USING INDEX sqlite_autoindex_api_requests_1 (id=?)") ||
				strings.Contains(got, "TEMP B-TREE") {
				t.Errorf("indexed:\n%s\nplan:\n%s", sql, got)
			}
			got, sql = requestsPlan(t, s, func(tx *gorm.DB) *gorm.DB { return unindexedUserRequestsQuery(tx, s.d, Sandbox, c.f) })
			if !strings.Contains(got, "SEARCH api_requests USING INTEGER PRIMARY KEY (rowid>?)") || strings.Contains(got, "INDEX api_requests_") {
				t.Errorf("not yet indexed:\n%s\nplan:\n%s", sql, got)
			}
		})
	}
}

// requestsPlan is SQLite's plan for a query of the request log, one line
// per step, and the query.
func requestsPlan(t *testing.T, s *Store, query func(tx *gorm.DB) *gorm.DB) (plan, sql string) {
	t.Helper()
	sql = s.R.ToSQL(func(tx *gorm.DB) *gorm.DB { return query(tx).Find(&[]APIRequest{}) })
	var rows []struct{ Detail string }
	if err := s.R.Raw("EXPLAIN QUERY PLAN " + sql).Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	var steps []string
	for _, r := range rows {
		steps = append(steps, r.Detail)
	}
	return strings.Join(steps, "\n"), sql
}
