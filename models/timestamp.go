package models

import (
	"context"
	"fmt"
	"reflect"
	"time"

	"gorm.io/gorm/schema"
)

// Times are stored as INTEGER unix milliseconds (UTC): they sort correctly,
// compare cheaply in indices and keyset cursors, and keep sub-second order
// for deliveries and attempts. Fields opt in with `gorm:"serializer:ms"`.
func init() { schema.RegisterSerializer("ms", msSerializer{}) }

type msSerializer struct{}

func (msSerializer) Scan(ctx context.Context, field *schema.Field, dst reflect.Value, dbValue any) error {
	fv := field.ReflectValueOf(ctx, dst)
	var ms int64
	switch v := dbValue.(type) {
	case nil:
		fv.Set(reflect.Zero(fv.Type()))
		return nil
	case int64:
		ms = v
	case int:
		ms = int64(v)
	case float64:
		ms = int64(v)
	default:
		return fmt.Errorf("column %s: cannot read %T as milliseconds", field.DBName, dbValue)
	}
	t := time.UnixMilli(ms).UTC()
	if fv.Kind() == reflect.Pointer {
		fv.Set(reflect.ValueOf(&t))
	} else {
		fv.Set(reflect.ValueOf(t))
	}
	return nil
}

func (msSerializer) Value(_ context.Context, _ *schema.Field, _ reflect.Value, fieldValue any) (any, error) {
	switch v := fieldValue.(type) {
	case time.Time:
		if v.IsZero() {
			return nil, nil
		}
		return v.UnixMilli(), nil
	case *time.Time:
		if v == nil || v.IsZero() {
			return nil, nil
		}
		return v.UnixMilli(), nil
	}
	return nil, fmt.Errorf("cannot store %T as milliseconds", fieldValue)
}

// FormatTime renders t the way the contract writes dates: RFC 3339, UTC, with a Z.
func FormatTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// ms converts a time to the stored representation, for raw queries.
func ms(t time.Time) int64 { return t.UnixMilli() }
