package registry

import "fmt"

// Error is an API error with Confluent's error code. The HTTP status is the
// code's first three digits (40401 → 404), or the code itself when it has
// three digits.
type Error struct {
	Code    int    `json:"error_code"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return fmt.Sprintf("%s (error code %d)", e.Message, e.Code) }

// Status is the HTTP status of the error.
func (e *Error) Status() int {
	c := e.Code
	for c >= 1000 {
		c /= 10
	}
	return c
}

// Confluent's error codes.
const (
	CodeSubjectNotFound           = 40401
	CodeVersionNotFound           = 40402
	CodeSchemaNotFound            = 40403
	CodeSubjectSoftDeleted        = 40404
	CodeSubjectNotSoftDeleted     = 40405
	CodeVersionSoftDeleted        = 40406
	CodeVersionNotSoftDeleted     = 40407
	CodeSubjectLevelCompatMissing = 40408
	CodeSubjectLevelModeMissing   = 40409
	CodeIncompatible              = 409
	CodeInvalidSchema             = 42201
	CodeInvalidVersion            = 42202
	CodeInvalidCompatibility      = 42203
	CodeInvalidMode               = 42204
	CodeOperationNotPermitted     = 42205
	CodeReferenceExists           = 42206
	CodeIDInUse                   = 42207
	CodeInvalidSubject            = 42208
	CodeSchemaTooLarge            = 42209
	CodeInvalidRuleSet            = 42210
	CodeStoreError                = 50001
)

func errorf(code int, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

func subjectNotFound(s string) *Error {
	return errorf(CodeSubjectNotFound, "Subject '%s' not found.", s)
}

func versionNotFound(v int) *Error {
	return errorf(CodeVersionNotFound, "Version %d not found.", v)
}

func schemaNotFound(id int) *Error {
	return errorf(CodeSchemaNotFound, "Schema %d not found", id)
}

func storeError(err error) *Error {
	return errorf(CodeStoreError, "Error in the backend data store - %v", err)
}
