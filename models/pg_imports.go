package models

// The PostgreSQL driver, imported here until dialect_postgres.go uses it, so
// go mod tidy keeps it.
import _ "gorm.io/driver/postgres"
