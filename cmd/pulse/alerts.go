package main

import (
	"context"
	"fmt"
	"log/slog"
	"sort"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pulsekpi/pulse/alert"
	"github.com/pulsekpi/pulse/config"
	"github.com/pulsekpi/pulse/notify"
	"github.com/pulsekpi/pulse/transform"
	"github.com/pulsekpi/pulse/warehouse"
)

// alerting is the alert evaluator, the notifier that delivers what it
// queues, and the store the API reads.
type alerting struct {
	eval   *alert.Evaluator
	notify *notify.Notifier
	store  *alert.Store
}

func newAlerting(cfg config.Config, wh *warehouse.Warehouse, lag func(context.Context) (int64, error),
	log *slog.Logger, reg prometheus.Registerer) (*alerting, error) {
	var dests []notify.Destination
	names := make([]string, 0, len(cfg.Alerts.Channels))
	for name := range cfg.Alerts.Channels {
		names = append(names, name)
	}
	sort.Strings(names)
	smtp := cfg.Alerts.SMTP
	for _, name := range names {
		c := cfg.Alerts.Channels[name]
		lang := c.Language
		if lang == "" {
			lang = cfg.Alerts.Language
		}
		cc := notify.ChannelConfig{
			Name: name, Kind: c.Kind, URL: c.URL, Secret: c.Secret, Headers: c.Headers,
			Language: lang, Timeout: c.Timeout, Location: cfg.Location(), To: c.To,
		}
		if c.Kind == notify.KindEmail {
			cc.SMTP = notify.SMTPConfig{Host: smtp.Host, Port: smtp.Port, Username: smtp.Username,
				Password: smtp.Password, From: smtp.From, TLS: smtp.TLS}
		}
		ch, err := notify.NewChannel(cc, nil, nil)
		if err != nil {
			return nil, fmt.Errorf("alerts.channels.%s: %w", name, err)
		}
		dests = append(dests, notify.Destination{Channel: ch, SendResolved: c.SendResolved})
	}
	rules := cfg.AlertRules()
	ruleNames := make([]string, 0, len(rules))
	for n := range rules {
		ruleNames = append(ruleNames, n)
	}
	sort.Strings(ruleNames)
	routes := make([]notify.Route, len(cfg.Alerts.Routes))
	for i, r := range cfg.Alerts.Routes {
		routes[i] = notify.Route{Channels: r.Channels, Rules: r.Rules, Severities: r.Severities, Teams: r.Teams, Manager: r.Manager}
	}
	router, err := notify.NewRouter(routes, dests, ruleNames)
	if err != nil {
		return nil, err
	}
	contacts := map[string]notify.Contact{}
	for id, c := range cfg.Alerts.Contacts {
		contacts[id] = notify.Contact{Name: c.Name, Email: c.Email, Mobile: c.Mobile, FeishuID: c.FeishuID}
	}
	d := cfg.Alerts.Delivery
	nt, err := notify.New(wh.DB(), notify.Options{
		Destinations: dests, Contacts: contacts, ExternalURL: cfg.Alerts.ExternalURL,
		Poll: d.Poll, BackoffMin: d.BackoffMin, BackoffMax: d.BackoffMax, GiveUpAfter: d.GiveUpAfter,
		Logger: log.With("component", "notify"), Metrics: notify.NewMetrics(reg),
	})
	if err != nil {
		return nil, err
	}
	ev, err := alert.New(wh.DB(), alert.Options{
		Rules: rules, Router: router, Lag: lag, MaxLag: cfg.Alerts.MaxLag,
		Logger: log.With("component", "alert"), Metrics: alert.NewMetrics(reg),
	})
	if err != nil {
		return nil, err
	}
	store := alert.NewStore(wh.DB(), alert.StoreOptions{Rules: func() []string { return ruleNames }, Language: cfg.Alerts.Language})
	return &alerting{eval: ev, notify: nt, store: store}, nil
}

// afterRun evaluates the alerts of a transform run and wakes the notifier
// for what the evaluation queued.
func (a *alerting) afterRun(ctx context.Context, run *transform.Run) error {
	err := a.eval.AfterRun(ctx, run)
	a.notify.Wake()
	return err
}
