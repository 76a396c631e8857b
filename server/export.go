package server

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/xuri/excelize/v2"
)

// shown are the indexes of the columns an export carries: hidden ones
// (scope and drill keys) stay out.
func shown(res *tileResult) []int {
	var idx []int
	for i, col := range res.columns {
		if !col.def.Hidden {
			idx = append(idx, i)
		}
	}
	return idx
}

func exportName(r tileRequest, res *tileResult, ext string) string {
	return fmt.Sprintf("%s-%s-%s-%s.%s", r.dash.ID, r.tile.ID, res.grain, res.periodStart.Format(time.DateOnly), ext)
}

func attach(c echo.Context, name string) {
	c.Response().Header().Set(echo.HeaderContentDisposition, fmt.Sprintf("attachment; filename=%q", name))
}

// writeCSV exports a tile's rows for a spreadsheet: labels in the
// request's language as the header, dates as YYYY-MM-DD, timestamps RFC
// 3339, numbers as written in JSON, NULL as an empty field. The file
// starts with a UTF-8 byte order mark, without which Excel reads Chinese
// names as mojibake, and text that a spreadsheet would run as a formula
// is quoted (see csvCell).
func writeCSV(c echo.Context, r tileRequest, res *tileResult) error {
	idx := shown(res)
	var buf bytes.Buffer
	buf.WriteString("\ufeff")
	w := csv.NewWriter(&buf)
	rec := make([]string, len(idx))
	for k, i := range idx {
		rec[k] = columnJSON(res.columns[i].def, r.lang)["label"].(string)
	}
	_ = w.Write(rec)
	for _, row := range res.rows {
		for k, i := range idx {
			rec[k] = csvCell(jsonCell(row[i], res.columns[i].dbType))
		}
		_ = w.Write(rec)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return fmt.Errorf("writing CSV: %w", err)
	}
	attach(c, exportName(r, res, "csv"))
	return c.Blob(http.StatusOK, "text/csv; charset=utf-8", buf.Bytes())
}

// csvCell writes a cell. Text from the CRM (a customer's name) that
// begins like a formula (=, +, -, @, tab, CR) gets a leading apostrophe,
// so that opening the export in a spreadsheet shows it rather than runs
// it; numbers are never text here, so negative figures stay numbers.
func csvCell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		if x != "" && strings.ContainsRune("=+-@\t\r", rune(x[0])) {
			return "'" + x
		}
		return x
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	return fmt.Sprint(v)
}

// numFmts are the Excel number formats of the dashboard formats; a cell
// keeps its type (number, date) and the format only changes its look.
var numFmts = map[string]string{
	"integer":  "#,##0",
	"number":   "#,##0.##",
	"money":    "#,##0.00",
	"percent":  "0.0%",
	"minutes":  "#,##0.0",
	"hours":    "#,##0.0",
	"days":     "#,##0.0",
	"score":    "0.0",
	"date":     "yyyy-mm-dd",
	"datetime": "yyyy-mm-dd hh:mm:ss",
}

// writeXLSX exports a tile's rows as a workbook with typed cells: numbers
// as numbers, dates and timestamps as dates, ratios with a percent format.
func writeXLSX(c echo.Context, r tileRequest, res *tileResult) error {
	f := excelize.NewFile()
	defer f.Close()
	const sheet = "Sheet1"
	idx := shown(res)
	header, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return fmt.Errorf("xlsx style: %w", err)
	}
	styles := make([]int, len(idx))
	for k, i := range idx {
		col := res.columns[i]
		format := col.def.Format
		if col.dbType == "DATE" {
			format = "date"
		} else if _, isTime := firstTime(res, i); isTime && format != "date" {
			format = "datetime"
		}
		if nf, ok := numFmts[format]; ok {
			nf := nf
			if styles[k], err = f.NewStyle(&excelize.Style{CustomNumFmt: &nf}); err != nil {
				return fmt.Errorf("xlsx style: %w", err)
			}
		}
		cell, _ := excelize.CoordinatesToCellName(k+1, 1)
		if err := f.SetCellStr(sheet, cell, columnJSON(col.def, r.lang)["label"].(string)); err != nil {
			return fmt.Errorf("xlsx header: %w", err)
		}
		if err := f.SetCellStyle(sheet, cell, cell, header); err != nil {
			return fmt.Errorf("xlsx header: %w", err)
		}
	}
	for n, row := range res.rows {
		for k, i := range idx {
			cell, _ := excelize.CoordinatesToCellName(k+1, n+2)
			if err := setXLSXCell(f, sheet, cell, row[i]); err != nil {
				return fmt.Errorf("xlsx %s: %w", cell, err)
			}
			if styles[k] != 0 && row[i] != nil {
				if err := f.SetCellStyle(sheet, cell, cell, styles[k]); err != nil {
					return fmt.Errorf("xlsx %s: %w", cell, err)
				}
			}
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		return fmt.Errorf("writing xlsx: %w", err)
	}
	attach(c, exportName(r, res, "xlsx"))
	return c.Blob(http.StatusOK, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", buf.Bytes())
}

func firstTime(res *tileResult, col int) (time.Time, bool) {
	for _, row := range res.rows {
		if t, ok := row[col].(time.Time); ok {
			return t, true
		}
	}
	return time.Time{}, false
}

func setXLSXCell(f *excelize.File, sheet, cell string, v any) error {
	switch x := v.(type) {
	case nil:
		return nil
	case json.Number:
		if fl, err := x.Float64(); err == nil {
			return f.SetCellFloat(sheet, cell, fl, -1, 64)
		}
		return f.SetCellStr(sheet, cell, x.String())
	case int64:
		return f.SetCellInt(sheet, cell, x)
	case float64:
		return f.SetCellFloat(sheet, cell, x, -1, 64)
	case bool:
		return f.SetCellBool(sheet, cell, x)
	case time.Time:
		// Excel has no time zones: the wall time as DuckDB gave it.
		return f.SetCellValue(sheet, cell, time.Date(x.Year(), x.Month(), x.Day(), x.Hour(), x.Minute(),
			x.Second(), x.Nanosecond(), time.UTC))
	case string:
		return f.SetCellStr(sheet, cell, x)
	}
	return f.SetCellValue(sheet, cell, v)
}
