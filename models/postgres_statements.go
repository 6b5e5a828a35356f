package models

// postgresStatements are PostgreSQL's words for the statements whose
// SQLite text the other database does not take, keyed by that text (each
// key is a named constant beside the code that runs it).
var postgresStatements = map[string]string{}
