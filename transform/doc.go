// Package transform will run the SQL models of sql/ (staging → marts →
// alerts) on a schedule. It arrives with the transforms issue; until then
// the warehouse holds raw events and ops tables only.
package transform
