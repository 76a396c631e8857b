package generate

import "strconv"

// Fields of ev per kind (see sim.go for the struct):
//
//	employee.upserted         a employee, b team, c manager (-1 none), ts hired_on (0 none), flags fActive
//	customer.upserted         a customer, e1 stage to set (stKeep: unchanged); the rest is the customer's state
//	lead.created              id lead, a customer, b owner, e1 source, e2 campaign (stKeep none)
//	followup.logged           id, a customer, b employee, c opportunity (0 none), e1 channel,
//	                          e2 summary (stKeep none), ts next_followup_at (0 none), amt duration_s (fDuration)
//	opportunity.created       id, a customer, b owner, amt, e1 stage, ts expected_close_on (0 none)
//	opportunity.stage_changed id, e1 to_stage, amt (fAmount), e2 lost_reason (stKeep none)
//	user.login                a employee, e1 client (stKeep none)
//	target.set                a employee, e1 metric, ts month start, amt value
//	contract.signed           id, a customer, b owner, c opportunity (0 none), amt, e1 kind (stKeep none)
//	invoice.issued            id, c contract, amt, ts due_on
//	payment.received          id, b invoice, c contract, amt
//	ticket.opened             id, a customer, b assignee (-1 none), c category (-1 none), e1 priority,
//	                          e2 channel (stKeep none), flags fComplaint / fNotComp
//	ticket.assigned           id, b assignee
//	ticket.responded          id, b employee
//	ticket.resolved           id, b employee
//	ticket.reopened           id
//	csat.submitted            id, e1 score, e2 comment (stKeep none)

func appendEmpID(b []byte, ei int32) []byte {
	b = append(b, '"', 'E')
	b = appendPadded(b, int64(ei)+1, 4)
	return append(b, '"')
}

func appendCustID(b []byte, ci int32) []byte {
	b = append(b, '"', 'C')
	b = appendPadded(b, int64(ci)+1, 5)
	return append(b, '"')
}

func appendNumID(b []byte, prefix string, n int32, width int) []byte {
	b = append(b, '"')
	b = append(b, prefix...)
	b = appendPadded(b, int64(n), width)
	return append(b, '"')
}

func appendTeamID(b []byte, tm int16) []byte {
	b = append(b, '"', 'T', 'M')
	b = appendPadded(b, int64(tm)+1, 2)
	return append(b, '"')
}

// unquoted returns the key bytes of a quoted id written by the appenders.
func unquoted(b []byte) []byte { return b[1 : len(b)-1] }

func (s *sim) topicOf(kind uint8) string {
	switch {
	case kind >= kTicketOpened:
		return s.o.Topics.Ticket
	case kind >= kContract:
		return s.o.Topics.Finance
	}
	return s.o.Topics.CRM
}

// encode writes e as a JSON message into s.buf and its key into s.kbuf.
func (s *sim) encode(e *ev) (topic string, key []byte, val []byte) {
	b := s.buf[:0]
	b = append(b, `{"event_id":`...)
	b = appendUUID(b, s.idr.Uint64(), s.idr.Uint64())
	b = append(b, `,"event_type":"`...)
	b = append(b, kindNames[e.kind]...)
	b = append(b, `","occurred_at":`...)
	b = s.clk.appendTime(b, e.occ)
	if e.flags&fNoRec == 0 {
		b = append(b, `,"recorded_at":`...)
		b = s.clk.appendTime(b, e.rec)
	}
	b = append(b, `,"data":{`...)
	k := s.kbuf[:0]
	b, k = s.appendData(b, k, e)
	if e.flags&fExtra != 0 {
		b = append(b, ',')
		b = append(b, extraFields[(uint64(e.id)+e.seq)%uint64(len(extraFields))]...)
	}
	b = append(b, '}', '}')
	s.buf, s.kbuf = b, k
	return s.topicOf(e.kind), k, b
}

// appendData writes the data fields (without braces) and the message key.
func (s *sim) appendData(b, k []byte, e *ev) ([]byte, []byte) {
	switch e.kind {
	case kEmployee:
		emp := &s.emps[e.a]
		b = appendKey(b, "employee_id", true)
		n := len(b)
		b = appendEmpID(b, e.a)
		k = append(k, unquoted(b[n:])...)
		b = appendKey(b, "name", false)
		b = appendQuoted(b, emp.name)
		b = appendKey(b, "role", false)
		b = appendQuoted(b, roles[emp.role])
		b = appendKey(b, "team_id", false)
		if e.b < 0 {
			b = append(b, `"TM00","team_name":"Management"`...)
		} else {
			b = appendTeamID(b, int16(e.b))
			b = appendKey(b, "team_name", false)
			b = appendQuoted(b, s.teams[e.b].name)
		}
		if e.c >= 0 {
			b = appendKey(b, "manager_id", false)
			b = appendEmpID(b, e.c)
		}
		b = appendKey(b, "active", false)
		b = strconv.AppendBool(b, e.flags&fActive != 0)
		if e.ts != 0 {
			b = appendKey(b, "hired_on", false)
			b = s.clk.appendDate(b, e.ts)
		}

	case kCustomer:
		c := &s.custs[e.a]
		b = appendKey(b, "customer_id", true)
		n := len(b)
		b = appendCustID(b, e.a)
		k = append(k, unquoted(b[n:])...)
		b = appendKey(b, "name", false)
		b = s.appendCustomerName(b, c)
		b = appendKey(b, "owner_id", false)
		b = appendEmpID(b, c.owner)
		b = appendKey(b, "stage", false)
		b = appendQuoted(b, custStages[c.stage])
		for f, name := range profileFields {
			m := c.fill >> (2 * f) & 3
			if m == 1 {
				continue
			}
			b = appendKey(b, name, false)
			switch m {
			case 2:
				b = append(b, '"', '"')
				continue
			case 3:
				b = append(b, `"  "`...)
				continue
			}
			switch f {
			case 0:
				b = appendPhone(b, c.phone)
			case 1:
				b = append(b, '"')
				b = append(b, emailPrefixes[c.phone%uint32(len(emailPrefixes))]...)
				b = append(b, '@')
				if c.nameKind == 0 {
					b = append(b, brandsLower[c.brand]...)
				} else {
					b = append(b, "corp"...)
					b = appendPadded(b, int64(e.a)+1, 5)
				}
				b = append(b, emailDomains[(c.phone>>8)%uint32(len(emailDomains))]...)
				b = append(b, '"')
			case 2:
				b = appendQuoted(b, industries[c.industry])
			case 3:
				b = appendQuoted(b, regions[c.region])
			case 4:
				b = appendQuoted(b, leadSources[c.source])
			case 5:
				b = appendQuoted(b, customerNeeds[c.needs])
			}
		}

	case kLead:
		b = appendKey(b, "lead_id", true)
		b = appendNumID(b, "K", e.id, 6)
		b = appendKey(b, "customer_id", false)
		n := len(b)
		b = appendCustID(b, e.a)
		k = append(k, unquoted(b[n:])...)
		b = appendKey(b, "owner_id", false)
		b = appendEmpID(b, e.b)
		b = appendKey(b, "source", false)
		b = appendQuoted(b, leadSources[e.e1])
		if e.e2 != stKeep {
			b = appendKey(b, "campaign", false)
			b = appendQuoted(b, campaigns[e.e2])
		}

	case kFollowup:
		b = appendKey(b, "followup_id", true)
		b = appendNumID(b, "F", e.id, 7)
		b = appendKey(b, "customer_id", false)
		n := len(b)
		b = appendCustID(b, e.a)
		k = append(k, unquoted(b[n:])...)
		b = appendKey(b, "employee_id", false)
		b = appendEmpID(b, e.b)
		b = appendKey(b, "channel", false)
		b = appendQuoted(b, channels[e.e1])
		if e.c != 0 {
			b = appendKey(b, "opportunity_id", false)
			b = appendNumID(b, "O", e.c, 6)
		}
		if e.e2 != stKeep {
			b = appendKey(b, "summary", false)
			b = appendQuoted(b, followupSummaries[e.e1][e.e2])
		}
		if e.flags&fDuration != 0 {
			b = appendKey(b, "duration_s", false)
			b = strconv.AppendInt(b, e.amt, 10)
		}
		if e.ts != 0 {
			b = appendKey(b, "next_followup_at", false)
			b = s.clk.appendTime(b, e.ts)
		}

	case kOppCreated:
		b = appendKey(b, "opportunity_id", true)
		n := len(b)
		b = appendNumID(b, "O", e.id, 6)
		k = append(k, unquoted(b[n:])...)
		b = appendKey(b, "customer_id", false)
		b = appendCustID(b, e.a)
		b = appendKey(b, "owner_id", false)
		b = appendEmpID(b, e.b)
		b = appendKey(b, "amount", false)
		b = appendMoney(b, e.amt)
		b = appendKey(b, "stage", false)
		b = appendQuoted(b, oppStages[e.e1])
		if e.ts != 0 {
			b = appendKey(b, "expected_close_on", false)
			b = s.clk.appendDate(b, e.ts)
		}

	case kOppStage:
		b = appendKey(b, "opportunity_id", true)
		n := len(b)
		b = appendNumID(b, "O", e.id, 6)
		k = append(k, unquoted(b[n:])...)
		b = appendKey(b, "to_stage", false)
		b = appendQuoted(b, oppStages[e.e1])
		if e.flags&fAmount != 0 {
			b = appendKey(b, "amount", false)
			b = appendMoney(b, e.amt)
		}
		if e.e2 != stKeep {
			b = appendKey(b, "lost_reason", false)
			b = appendQuoted(b, lostReasons[e.e2])
		}

	case kLogin:
		b = appendKey(b, "employee_id", true)
		n := len(b)
		b = appendEmpID(b, e.a)
		k = append(k, unquoted(b[n:])...)
		if e.e1 != stKeep {
			b = appendKey(b, "client", false)
			b = appendQuoted(b, loginClients[e.e1])
		}

	case kTarget:
		b = appendKey(b, "employee_id", true)
		n := len(b)
		b = appendEmpID(b, e.a)
		k = append(k, unquoted(b[n:])...)
		b = appendKey(b, "month", false)
		b = s.clk.appendMonth(b, e.ts)
		b = appendKey(b, "metric", false)
		b = appendQuoted(b, targetMetrics[e.e1])
		b = appendKey(b, "value", false)
		b = strconv.AppendInt(b, e.amt, 10)

	case kContract:
		b = appendKey(b, "contract_id", true)
		n := len(b)
		b = appendNumID(b, "CT", e.id, 6)
		k = append(k, unquoted(b[n:])...)
		b = appendKey(b, "customer_id", false)
		b = appendCustID(b, e.a)
		b = appendKey(b, "owner_id", false)
		b = appendEmpID(b, e.b)
		b = appendKey(b, "amount", false)
		b = appendMoney(b, e.amt)
		if e.c != 0 {
			b = appendKey(b, "opportunity_id", false)
			b = appendNumID(b, "O", e.c, 6)
		}
		if e.e1 != stKeep {
			b = appendKey(b, "kind", false)
			b = appendQuoted(b, contractKinds[e.e1])
		}

	case kInvoice:
		b = appendKey(b, "invoice_id", true)
		b = appendNumID(b, "INV", e.id, 6)
		b = appendKey(b, "contract_id", false)
		n := len(b)
		b = appendNumID(b, "CT", e.c, 6)
		k = append(k, unquoted(b[n:])...)
		b = appendKey(b, "amount", false)
		b = appendMoney(b, e.amt)
		b = appendKey(b, "due_on", false)
		b = s.clk.appendDate(b, e.ts)

	case kPayment:
		b = appendKey(b, "payment_id", true)
		b = appendNumID(b, "PAY", e.id, 6)
		b = appendKey(b, "invoice_id", false)
		b = appendNumID(b, "INV", e.b, 6)
		b = appendKey(b, "contract_id", false)
		n := len(b)
		b = appendNumID(b, "CT", e.c, 6)
		k = append(k, unquoted(b[n:])...)
		b = appendKey(b, "amount", false)
		b = appendMoney(b, e.amt)

	default: // ticket events
		b = appendKey(b, "ticket_id", true)
		n := len(b)
		b = appendNumID(b, "T", e.id, 6)
		k = append(k, unquoted(b[n:])...)
		switch e.kind {
		case kTicketOpened:
			b = appendKey(b, "customer_id", false)
			b = appendCustID(b, e.a)
			b = appendKey(b, "priority", false)
			b = appendQuoted(b, priorities[e.e1])
			if e.b >= 0 {
				b = appendKey(b, "assignee_id", false)
				b = appendEmpID(b, e.b)
			}
			if e.e2 != stKeep {
				b = appendKey(b, "channel", false)
				b = appendQuoted(b, ticketChannels[e.e2])
			}
			if e.c >= 0 {
				b = appendKey(b, "category", false)
				b = appendQuoted(b, ticketCategories[e.c])
			}
			if e.flags&fComplaint != 0 {
				b = append(b, `,"is_complaint":true`...)
			} else if e.flags&fNotComp != 0 {
				b = append(b, `,"is_complaint":false`...)
			}
		case kTicketAssigned:
			b = appendKey(b, "assignee_id", false)
			b = appendEmpID(b, e.b)
		case kTicketResponded, kTicketResolved:
			b = appendKey(b, "employee_id", false)
			b = appendEmpID(b, e.b)
		case kCSAT:
			b = appendKey(b, "score", false)
			b = strconv.AppendInt(b, int64(e.e1), 10)
			if e.e2 != stKeep {
				b = appendKey(b, "comment", false)
				b = appendQuoted(b, csatComments[e.e2])
			}
		}
	}
	return b, k
}

func (s *sim) appendCustomerName(b []byte, c *customer) []byte {
	switch c.nameKind {
	case 1:
		return appendQuoted(b, chineseCompanyNames[c.brand])
	case 2:
		return appendQuoted(b, englishCompanyNames[c.brand])
	}
	b = append(b, '"')
	b = append(b, cities[c.city]...)
	b = append(b, ' ')
	b = append(b, brands[c.brand]...)
	b = append(b, ' ')
	b = append(b, companySuffixes[c.suffix]...)
	return append(b, '"')
}

var mobilePrefixes = []string{"138", "139", "136", "135", "150", "151", "186", "187", "177", "133", "189", "158"}
var areaCodes = []string{"021", "010", "0755", "0571", "0512", "025", "028", "027"}

// appendPhone writes a Chinese mobile or landline number derived from seed.
func appendPhone(b []byte, seed uint32) []byte {
	x := uint64(seed) * 0x9e3779b97f4a7c15
	b = append(b, '"')
	if seed%5 == 0 {
		b = append(b, areaCodes[(x>>40)%uint64(len(areaCodes))]...)
		b = append(b, '-')
		b = appendPadded(b, int64((x>>8)%10000), 4)
		b = append(b, ' ')
		b = appendPadded(b, int64((x>>24)%10000), 4)
	} else {
		b = append(b, "+86 "...)
		b = append(b, mobilePrefixes[(x>>40)%uint64(len(mobilePrefixes))]...)
		b = append(b, ' ')
		b = appendPadded(b, int64((x>>8)%10000), 4)
		b = append(b, ' ')
		b = appendPadded(b, int64((x>>24)%10000), 4)
	}
	return append(b, '"')
}
