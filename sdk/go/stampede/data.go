package stampede

import (
	"encoding/json"

	wit "stampede.dev/sdk/imports/stampede_scenario_data"
)

// Feeder orders: how a feeder hands out rows (Gatling's feeders).
const (
	// Sequential gives the next row in file order on each call, across the run's VUs;
	// an error once every row was handed out.
	Sequential = wit.Order_Sequential
	// Circular gives the same, starting over after the last row.
	Circular = wit.Order_Circular
	// Random gives a uniformly random row each call.
	Random = wit.Order_Random
	// Unique gives a VU its own row for its whole life: VU n gets row n.
	Unique = wit.Order_Unique
)

// Feeder hands out the rows of a file in the run's data directory (--data): a CSV file
// with a header line or a JSON array of objects, parsed once per run on the host and
// shared by every VU; a VU copies in only the row it takes.
type Feeder struct {
	file    string
	order   wit.Order
	columns []string
	json    bool
}

// Row is one row: its cells by column. For a JSON file a cell is its value's JSON text
// (Get unquotes strings).
type Row struct {
	feeder *Feeder
	cells  []string
}

// DataError says why a feeder gave no row: Kind "exhausted" (none left for this call)
// or "invalid" (no such file, no --data).
type DataError struct {
	Kind    string
	Message string
}

func (e *DataError) Error() string { return e.Message }

func dataError(e wit.DataError) error {
	if e.Tag() == wit.DataError_Exhausted {
		return &DataError{Kind: "exhausted", Message: e.Exhausted()}
	}
	return &DataError{Kind: "invalid", Message: e.Invalid()}
}

// NewFeeder describes file to the host (which parses it once for the run); a missing or
// malformed file is the error of the first Next.
func NewFeeder(file string, order uint8) *Feeder {
	f := &Feeder{file: file, order: order}
	if t := wit.Table(file); t.IsOk() {
		f.columns, f.json = t.Ok().Columns, t.Ok().Json
	}
	return f
}

// Next is the row the feeder's order gives now.
func (f *Feeder) Next() (Row, error) {
	r := wit.NextRow(f.file, f.order)
	if r.IsErr() {
		return Row{}, dataError(r.Err())
	}
	return Row{feeder: f, cells: r.Ok()}, nil
}

// Columns are the file's column names.
func (f *Feeder) Columns() []string { return f.columns }

// Get is the cell of column, and whether the row has it; a JSON string without quotes.
func (r Row) Get(column string) (string, bool) {
	for i, c := range r.feeder.columns {
		if c == column && i < len(r.cells) {
			v := r.cells[i]
			if r.feeder.json && len(v) > 0 && v[0] == '"' {
				var s string
				if json.Unmarshal([]byte(v), &s) == nil {
					return s, true
				}
			}
			return v, true
		}
	}
	return "", false
}

// ReadData is a whole file of the data directory, read once per run on the host.
func ReadData(file string) ([]byte, error) {
	r := wit.Read(file)
	if r.IsErr() {
		return nil, dataError(r.Err())
	}
	return r.Ok(), nil
}
