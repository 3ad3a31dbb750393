package stampede

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"time"
)

// Option configures one request.
type Option func(*request)

type request struct {
	method  string
	url     string
	headers [][2]string
	body    []byte
	name    *string
	timeout *uint32
	query   url.Values
	read    readWhat
	// The WIT trace-mode for this request, over the run's --trace-context.
	trace *uint8
}

type readWhat uint8

const (
	readBody readWhat = 1 << iota
	readHeaders
)

// Trace puts a W3C traceparent on the request (its sampled flag as given), whatever
// the run's --trace-context: a span of the iteration's trace.
func Trace(sampled bool) Option {
	mode := uint8(2) // unsampled
	if sampled {
		mode = 1
	}
	return func(r *request) { r.trace = &mode }
}

// NoTrace sends the request without a traceparent, even with --trace-context.
func NoTrace() Option {
	mode := uint8(3)
	return func(r *request) { r.trace = &mode }
}

// Name groups the request in metrics, e.g. "GET /api/v1/products/:id".
func Name(name string) Option { return func(r *request) { r.name = &name } }

// Header adds a request header.
func Header(name, value string) Option {
	return func(r *request) { r.headers = append(r.headers, [2]string{name, value}) }
}

// Bearer sets "Authorization: Bearer <token>".
func Bearer(token string) Option { return Header("Authorization", "Bearer "+token) }

// Query appends key=value to the URL's query string.
func Query(key, value string) Option {
	return func(r *request) {
		if r.query == nil {
			r.query = url.Values{}
		}
		r.query.Add(key, value)
	}
}

// Timeout overrides the run's request timeout.
func Timeout(d time.Duration) Option {
	return func(r *request) {
		ms := uint32(min(d.Milliseconds(), int64(^uint32(0))))
		r.timeout = &ms
	}
}

// ReadBody copies the response body and headers back; without it only the body's size
// is known, which is all most load-test requests need.
func ReadBody() Option { return func(r *request) { r.read |= readBody | readHeaders } }

// ReadHeaders copies only the response headers back.
func ReadHeaders() Option { return func(r *request) { r.read |= readHeaders } }

// Body sets a raw body.
func Body(b []byte) Option { return func(r *request) { r.body = b } }

// JSON sets a JSON body (and its content type).
func JSON(v any) Option {
	return func(r *request) {
		b, err := json.Marshal(v)
		if err != nil {
			panic(fmt.Sprintf("stampede.JSON: %v", err))
		}
		r.body = b
		r.headers = append(r.headers, [2]string{"Content-Type", "application/json"})
	}
}

// Form sets a form-encoded body (application/x-www-form-urlencoded).
func Form(values url.Values) Option {
	return func(r *request) {
		r.body = []byte(values.Encode())
		r.headers = append(r.headers, [2]string{"Content-Type", "application/x-www-form-urlencoded"})
	}
}

// Part is one field of a multipart body.
type Part struct {
	Name, FileName, ContentType string
	Data                        []byte
}

// TextField is a text part of a multipart body.
func TextField(name, value string) Part { return Part{Name: name, Data: []byte(value)} }

// FileField is a file part of a multipart body.
func FileField(name, fileName, contentType string, data []byte) Part {
	return Part{Name: name, FileName: fileName, ContentType: contentType, Data: data}
}

// Multipart sets a multipart/form-data body (file uploads) and its content type.
func Multipart(parts ...Part) Option {
	return func(r *request) {
		ct, body := encodeMultipart(parts)
		r.body = body
		r.headers = append(r.headers, [2]string{"Content-Type", ct})
	}
}

func encodeMultipart(parts []Part) (string, []byte) {
	var boundary string
	for {
		boundary = fmt.Sprintf("----stampede%016x", rand.Uint64())
		clash := false
		for _, p := range parts {
			if bytes.Contains(p.Data, []byte(boundary)) {
				clash = true
			}
		}
		if !clash {
			break
		}
	}
	q := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	var b bytes.Buffer
	for _, p := range parts {
		fmt.Fprintf(&b, "--%s\r\nContent-Disposition: form-data; name=\"%s\"", boundary, q.Replace(p.Name))
		if p.FileName != "" {
			ct := p.ContentType
			if ct == "" {
				ct = "application/octet-stream"
			}
			fmt.Fprintf(&b, "; filename=\"%s\"\r\nContent-Type: %s", q.Replace(p.FileName), ct)
		}
		b.WriteString("\r\n\r\n")
		b.Write(p.Data)
		b.WriteString("\r\n")
	}
	fmt.Fprintf(&b, "--%s--\r\n", boundary)
	return "multipart/form-data; boundary=" + boundary, b.Bytes()
}

// Timings are the phases of one request.
type Timings struct {
	Connect, TLS, Send, Wait, Receive, Total time.Duration
}

// Response of a request. Body and headers are empty unless ReadBody/ReadHeaders.
type Response struct {
	Status   int
	BodySize uint64
	// FinalURL is the URL of the last response: the request's own unless redirects
	// were followed.
	FinalURL string
	Timings  Timings
	Body     []byte
	headers  [][2]string
	bodyRead bool
}

// Header returns the first header with this name (case-insensitive).
func (r *Response) Header(name string) string {
	for _, h := range r.headers {
		if strings.EqualFold(h[0], name) {
			return h[1]
		}
	}
	return ""
}

// JSON decodes the body into v; it needs ReadBody on the request.
func (r *Response) JSON(v any) error {
	if !r.bodyRead {
		return Failf("the response body was not requested: add stampede.ReadBody() to the request")
	}
	if err := json.Unmarshal(r.Body, v); err != nil {
		return Failf("invalid JSON (status %d): %v", r.Status, err)
	}
	return nil
}

// ExpectStatus fails the task unless the status is the one given.
func (r *Response) ExpectStatus(status int) error {
	if r.Status != status {
		return Failf("expected status %d, got %d", status, r.Status)
	}
	return nil
}

// Ensure fails the task with msg (and the status) unless ok.
func (r *Response) Ensure(ok bool, msg string) error {
	if !ok {
		return Failf("%s (status %d)", msg, r.Status)
	}
	return nil
}

// HTTPError is a request that got no response (the WIT http-error); the host has
// already recorded it as a failed request.
type HTTPError struct {
	Kind   string // invalid-url, denied, dns, connect, tls, timeout, protocol, too-large
	Detail string
}

func (e *HTTPError) Error() string {
	if e.Detail == "" {
		return e.Kind
	}
	return e.Kind + ": " + e.Detail
}

// Failf is a task failure with a formatted message.
func Failf(format string, args ...any) error { return fmt.Errorf(format, args...) }

// Get sends a GET request; each request is one host call.
func Get(url string, opts ...Option) (*Response, error) { return Do("GET", url, opts...) }

// Post sends a POST request.
func Post(url string, opts ...Option) (*Response, error) { return Do("POST", url, opts...) }

// Put sends a PUT request.
func Put(url string, opts ...Option) (*Response, error) { return Do("PUT", url, opts...) }

// Patch sends a PATCH request.
func Patch(url string, opts ...Option) (*Response, error) { return Do("PATCH", url, opts...) }

// Delete sends a DELETE request.
func Delete(url string, opts ...Option) (*Response, error) { return Do("DELETE", url, opts...) }

// Do sends a request with any method. A relative URL resolves against --target.
func Do(method, u string, opts ...Option) (*Response, error) {
	r := request{method: method, url: u}
	for _, o := range opts {
		o(&r)
	}
	if len(r.query) > 0 {
		sep := "?"
		if strings.Contains(r.url, "?") {
			sep = "&"
		}
		r.url += sep + r.query.Encode()
	}
	return send(&r)
}
