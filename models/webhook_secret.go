package models

// NewWebhookSecret makes a signing secret the way RotateWebhookSecret does,
// for forms that let the operator leave the secret to the server.
func (s *Store) NewWebhookSecret() string { return randomHex(s.Rand, 24) }
