package models

import "time"

// User is a person the customer will send through the Wink widget.
type User struct {
	ID               string `gorm:"primaryKey"`
	Mode             Mode
	ExternalMetadata Metadata  `gorm:"serializer:json"`
	CreatedAt        time.Time `gorm:"serializer:ms"`
}

// UserMetadata is one metadata pair, kept in its own table so support can
// find a user by any value through an index.
type UserMetadata struct {
	UserID string `gorm:"primaryKey"`
	Mode   Mode
	Key    string `gorm:"primaryKey"`
	Value  string
}

func (UserMetadata) TableName() string { return "user_metadata" }

// UserFilter narrows a user list. Nil fields do not filter.
type UserFilter struct {
	Size          int
	Cursor        *Cursor
	CreatedFrom   *time.Time // inclusive
	CreatedBefore *time.Time // exclusive
	MetadataValue *string
}

// UserPage is one page of users, newest first.
type UserPage struct {
	Items      []User
	NextCursor string
}

// CreatedUser is everything creating a user makes in one transaction.
type CreatedUser struct {
	User             User
	Token            *IssuedToken
	Event            *Event
	QueuedDeliveries int
}
