package web

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/pulsekpi/pulse/auth"
)

// Languages of the UI; the first is the default.
var Languages = []string{"en", "zh-CN"}

// LangCookie remembers the language chosen with ?lang=.
const LangCookie = "pulse_lang"

// catalogue is every UI string by language, then key.
type catalogue map[string]map[string]string

// loadCatalogue reads i18n/<lang>.json for every language.
func loadCatalogue(fsys fs.FS) (catalogue, error) {
	cat := catalogue{}
	for _, lang := range Languages {
		b, err := fs.ReadFile(fsys, "i18n/"+lang+".json")
		if err != nil {
			return nil, fmt.Errorf("web: catalogue %s: %w", lang, err)
		}
		m := map[string]string{}
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("web: catalogue %s: %w", lang, err)
		}
		cat[lang] = m
	}
	return cat, nil
}

// language picks the page's language: ?lang= (remembered in a cookie),
// then the cookie, then Accept-Language, then English.
func language(c echo.Context) string {
	if l := normLang(c.QueryParam("lang")); l != "" {
		c.SetCookie(&http.Cookie{Name: LangCookie, Value: l, Path: "/", MaxAge: 365 * 24 * 3600,
			SameSite: http.SameSiteLaxMode})
		return l
	}
	if ck, err := c.Cookie(LangCookie); err == nil {
		if l := normLang(ck.Value); l != "" {
			return l
		}
	}
	return fromAcceptLanguage(c.Request().Header.Get("Accept-Language"))
}

// normLang maps a language tag to a UI language, "" when none fits.
func normLang(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	switch {
	case s == "":
		return ""
	case s == "en" || strings.HasPrefix(s, "en-"):
		return "en"
	case s == "zh" || s == "zh-cn" || s == "zh-hans" || strings.HasPrefix(s, "zh-hans-") || s == "zh-sg":
		return "zh-CN"
	case strings.HasPrefix(s, "zh-"):
		// Traditional-script regions still read Simplified better than English.
		return "zh-CN"
	}
	return ""
}

// fromAcceptLanguage picks the supported language the browser prefers
// most (highest q, then order), English when it names neither.
func fromAcceptLanguage(h string) string {
	best, bestQ := "en", -1.0
	for _, part := range strings.Split(h, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		if l := normLang(tag); l != "" && q > bestQ && q > 0 {
			best, bestQ = l, q
		}
	}
	return best
}

// page is what the layout and a page's template see.
type page struct {
	Name      string // template
	TitleKey  string // catalogue key of the title, unless Title is set
	Title     string
	Lang      string
	OtherLang string
	LangHref  string // this page in the other language
	User      auth.Session
	SignedIn  bool
	CSRF      string
	Nav       []navLink
	Charts    bool // ECharts is embedded
	Error     string
	Dashboard *dashboardView
	// Data goes to the page's script as JSON.
	Data map[string]any
	cat  map[string]string
	// Strings is the catalogue of the page's language, for the scripts.
	Strings map[string]string
}

type navLink struct {
	Key, Href, Label string
	Active           bool
}

// T is the text of key in the page's language. A missing key shows as
// itself between brackets, which the tests look for.
func (p *page) T(key string) string {
	if s, ok := p.cat[key]; ok {
		return s
	}
	return "[[" + key + "]]"
}

// PageTitle is the title in the page's language.
func (p *page) PageTitle() string {
	if p.Title != "" {
		return p.Title
	}
	return p.T(p.TitleKey)
}

// RoleName is the user's role in words.
func (p *page) RoleName() string { return p.T("role." + string(p.User.Role)) }

func (u *UI) newPage(c echo.Context, name string, sess auth.Session, signedIn bool) *page {
	lang := language(c)
	other := "zh-CN"
	if lang == "zh-CN" {
		other = "en"
	}
	q := c.Request().URL.Query()
	q.Set("lang", other)
	p := &page{Name: name, TitleKey: name + ".title", Lang: lang, OtherLang: other,
		LangHref: c.Request().URL.Path + "?" + q.Encode(), User: sess, SignedIn: signedIn,
		CSRF: sess.CSRFToken, Charts: u.charts, cat: u.cat[lang], Strings: u.cat[lang], Data: map[string]any{}}
	if signedIn {
		active := navFor[name]
		for _, n := range navItems {
			if slices.Contains(n.roles, sess.Role) {
				p.Nav = append(p.Nav, navLink{Key: n.key, Href: n.href, Label: p.T("nav." + n.key), Active: n.key == active})
			}
		}
	}
	return p
}
