// The seed's file-import journey, in Go: upload a customers CSV as multipart (with an
// API key), poll the import job until it completes, and list recent imports. The same
// flow, names and weights as plugins/file-upload (Rust).
package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"stampede.dev/sdk/stampede"
)

type importer struct {
	apiKey   string
	rows     int
	poll     time.Duration
	maxPolls int
}

type job struct {
	JobID        string `json:"jobId"`
	Status       string `json:"status"`
	RowsImported int    `json:"rowsImported"`
}

func envInt(key string, def int) int {
	n, err := strconv.Atoi(stampede.Env(key, strconv.Itoa(def)))
	if err != nil {
		return def
	}
	return n
}

func start() (*importer, error) {
	return &importer{
		apiKey:   stampede.Env("API_KEY", "demo-api-key"),
		rows:     envInt("ROWS", 100),
		poll:     time.Duration(envInt("POLL_MS", 500)) * time.Millisecond,
		maxPolls: envInt("MAX_POLLS", 30),
	}, nil
}

// csv is a file of u.rows customers, unique to this VU and iteration.
func (u *importer) csv() string {
	var b strings.Builder
	b.WriteString("email,first_name,last_name,company\n")
	vu, it := stampede.VUID(), stampede.Iteration()
	for i := 0; i < u.rows; i++ {
		fmt.Fprintf(&b, "user%d.%d.%d@example.com,Test,User %d,\"Acme, Inc\"\n", vu, it, i, i)
	}
	return b.String()
}

func (u *importer) uploadCustomers() error {
	r, err := stampede.Post("/api/v1/imports/customers",
		stampede.Name("POST /api/v1/imports/customers"),
		stampede.Header("X-API-Key", u.apiKey),
		stampede.Multipart(
			stampede.FileField("file", "customers.csv", "text/csv", []byte(u.csv())),
			stampede.TextField("importType", "incremental"),
			stampede.TextField("notifyOnCompletion", "false"),
		),
		stampede.ReadBody(),
	)
	if err != nil {
		return err
	}
	stampede.Check("import accepted", r.Status == 202)
	if err := r.ExpectStatus(202); err != nil {
		return err
	}
	var accepted job
	if err := r.JSON(&accepted); err != nil {
		return err
	}
	for i := 0; i < u.maxPolls; i++ {
		stampede.Sleep(u.poll)
		r, err := stampede.Get("/api/v1/imports/"+accepted.JobID+"/status",
			stampede.Name("GET /api/v1/imports/:jobId/status"),
			stampede.Header("X-API-Key", u.apiKey),
			stampede.ReadBody(),
		)
		if err != nil {
			return err
		}
		if err := r.ExpectStatus(200); err != nil {
			return err
		}
		var s job
		if err := r.JSON(&s); err != nil {
			return err
		}
		if s.Status == "completed" {
			if !stampede.Check("every row imported", s.RowsImported == u.rows) {
				return stampede.Failf("imported %d of %d rows", s.RowsImported, u.rows)
			}
			return nil
		}
	}
	stampede.Check("import completed in time", false)
	return stampede.Failf("job %s not completed after %d polls", accepted.JobID, u.maxPolls)
}

func (u *importer) listImports() error {
	r, err := stampede.Get("/api/v1/imports",
		stampede.Query("limit", "10"),
		stampede.Query("status", "completed"),
		stampede.Name("GET /api/v1/imports"),
		stampede.Header("X-API-Key", u.apiKey),
	)
	if err != nil {
		return err
	}
	stampede.Check("imports listed", r.Status == 200)
	return r.ExpectStatus(200)
}

func millis(key string, def int) time.Duration {
	return time.Duration(envInt(key, def)) * time.Millisecond
}

func init() {
	stampede.Register(stampede.User[importer]{
		Wait: func() stampede.WaitTime {
			return stampede.Between(millis("WAIT_MIN_MS", 1000), millis("WAIT_MAX_MS", 3000))
		},
		OnStart: start,
		Tasks: []stampede.Task[importer]{
			{Name: "upload_customers", Weight: 2, Run: (*importer).uploadCustomers},
			{Name: "list_imports", Weight: 1, Run: (*importer).listImports},
		},
	})
}

func main() {}
