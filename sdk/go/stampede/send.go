package stampede

import (
	"time"

	witTypes "go.bytecodealliance.org/pkg/wit/types"
	wit "stampede.dev/sdk/imports/stampede_scenario_http"
)

var errorKinds = [...]string{"invalid-url", "denied", "dns", "connect", "tls", "timeout", "protocol", "too-large"}

func send(r *request) (*Response, error) {
	headers := make([]witTypes.Tuple2[string, string], len(r.headers))
	for i, h := range r.headers {
		headers[i] = witTypes.Tuple2[string, string]{F0: h[0], F1: h[1]}
	}
	req := wit.HttpRequest{
		Method:    r.method,
		Url:       r.url,
		Headers:   headers,
		Body:      r.body,
		Name:      witTypes.None[string](),
		TimeoutMs: witTypes.None[uint32](),
	}
	if r.name != nil {
		req.Name = witTypes.Some(*r.name)
	}
	if r.timeout != nil {
		req.TimeoutMs = witTypes.Some(*r.timeout)
	}
	if r.read&readBody != 0 {
		req.Read |= wit.ReadFlags_Body
	}
	if r.read&readHeaders != 0 {
		req.Read |= wit.ReadFlags_Headers
	}
	if r.trace != nil {
		wit.TraceContext(*r.trace)
		defer wit.TraceContext(wit.TraceMode_Run)
	}
	res := wit.Send(req)
	if res.IsErr() {
		e := res.Err()
		he := &HTTPError{Kind: "unknown"}
		if int(e.Tag()) < len(errorKinds) {
			he.Kind = errorKinds[e.Tag()]
		}
		if e.Tag() != wit.HttpError_Timeout {
			he.Detail = errorDetail(e)
		}
		return nil, he
	}
	raw := res.Ok()
	us := func(v uint64) time.Duration { return time.Duration(v) * time.Microsecond }
	t := raw.Timings
	// The host sends headers and body only when asked for, and a final URL only after
	// redirects (otherwise it is the request's own).
	out := &Response{
		Status:   int(raw.Status),
		BodySize: raw.BodySize,
		FinalURL: raw.FinalUrl.SomeOr(r.url),
		Timings: Timings{
			Connect: us(t.ConnectUs), TLS: us(t.TlsUs), Send: us(t.SendUs),
			Wait: us(t.WaitUs), Receive: us(t.ReceiveUs), Total: us(t.TotalUs),
		},
		Body:     raw.Body.SomeOr(nil),
		bodyRead: raw.Body.IsSome(),
	}
	for _, h := range raw.Headers.SomeOr(nil) {
		out.headers = append(out.headers, [2]string{h.F0, h.F1})
	}
	return out, nil
}

func errorDetail(e wit.HttpError) string {
	switch e.Tag() {
	case wit.HttpError_InvalidUrl:
		return e.InvalidUrl()
	case wit.HttpError_Denied:
		return e.Denied()
	case wit.HttpError_Dns:
		return e.Dns()
	case wit.HttpError_Connect:
		return e.Connect()
	case wit.HttpError_Tls:
		return e.Tls()
	case wit.HttpError_Protocol:
		return e.Protocol()
	case wit.HttpError_TooLarge:
		return e.TooLarge()
	}
	return ""
}
