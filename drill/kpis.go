package drill

import "github.com/pulsekpi/pulse/dashboard"

// How the rows of a KPI make its figure, so that anyone (and the tests) can
// recompute it from the rows. value is the row's value column; counts_as
// says whether a row is in a ratio's numerator, its denominator or both.
const (
	// AggSum: the figure is the sum of value (counts have value 1).
	AggSum = "sum"
	// AggRatio: sum of value over numerator and both rows, divided by the
	// sum over denominator and both rows; NULL when that is 0.
	AggRatio = "ratio"
	// AggMean: the mean of value; NULL without rows.
	AggMean = "mean"
	// AggMedian: the median of value; NULL without rows.
	AggMedian = "median"
	// AggDistinct: the number of distinct values of the channel column.
	AggDistinct = "distinct"
)

// spec says where a KPI's rows come from and which of their columns a
// manager needs to dispute them.
type spec struct {
	family    string // sql/drill/<family>.sql
	aggregate string
	columns   []string // the item's columns, before owner, value and event
	base      string   // attainment: the KPI whose rows are the numerator
}

var (
	contractCols = []string{"occurred_at", "contract_id", "customer_id", "kind", "amount"}
	closedCols   = []string{"closed_at", "opportunity_id", "customer_id", "outcome", "created_at"}
	followupCols = []string{"occurred_at", "followup_id", "customer_id", "channel", "next_followup_at"}
	leadCols     = []string{"occurred_at", "lead_id", "customer_id", "source", "campaign", "first_followup_at", "hours", "first_followup_event_id"}
	customerCols = []string{"customer_id", "customer_name", "stage", "valid_from", "last_followup_at", "covered", "last_followup_event_id"}
	openedCols   = []string{"opened_at", "ticket_id", "customer_id", "priority", "is_complaint", "first_response_at", "status_at_t"}
	resolvedCols = []string{"first_resolved_at", "ticket_id", "customer_id", "priority", "is_complaint", "opened_at", "resolution_hours"}
	csatCols     = []string{"submitted_at", "ticket_id", "score"}
	targetCols   = []string{"month", "metric", "target"}
)

// specs covers every KPI of metrics.md (package metric); New checks it.
var specs = map[string]spec{
	"revenue":                    {family: "sales", aggregate: AggSum, columns: contractCols},
	"contracts":                  {family: "sales", aggregate: AggSum, columns: contractCols},
	"avg_deal_size":              {family: "sales", aggregate: AggMean, columns: contractCols},
	"new_customers":              {family: "sales", aggregate: AggSum, columns: contractCols},
	"deals_won":                  {family: "sales", aggregate: AggSum, columns: append(closedCols, "cycle_days")},
	"deals_lost":                 {family: "sales", aggregate: AggSum, columns: closedCols},
	"win_rate":                   {family: "sales", aggregate: AggRatio, columns: closedCols},
	"conversion_cycle_days":      {family: "sales", aggregate: AggMedian, columns: append(closedCols, "cycle_days")},
	"collections":                {family: "sales", aggregate: AggSum, columns: []string{"occurred_at", "payment_id", "invoice_id", "contract_id", "amount"}},
	"collection_rate":            {family: "sales", aggregate: AggRatio, columns: []string{"invoice_id", "due_on", "payment_id", "occurred_at", "contract_id", "amount"}},
	"followups":                  {family: "followups", aggregate: AggSum, columns: followupCols},
	"visits":                     {family: "followups", aggregate: AggSum, columns: followupCols},
	"channels_used":              {family: "followups", aggregate: AggDistinct, columns: followupCols[:4]},
	"followup_timeliness":        {family: "followups", aggregate: AggRatio, columns: append(followupCols, "answered_at", "timely", "answered_event_id")},
	"lead_response_hours":        {family: "followups", aggregate: AggMedian, columns: leadCols},
	"lead_response_rate_24h":     {family: "followups", aggregate: AggRatio, columns: leadCols},
	"customer_coverage":          {family: "customers", aggregate: AggRatio, columns: customerCols},
	"dormant_customers":          {family: "customers", aggregate: AggSum, columns: customerCols},
	"completeness":               {family: "customers", aggregate: AggMean, columns: []string{"customer_id", "customer_name", "stage", "valid_from", "filled_share", "missing_fields"}},
	"login_days":                 {family: "logins", aggregate: AggSum, columns: []string{"day", "first_login_at", "logins"}},
	"missed_login_days":          {family: "logins", aggregate: AggSum, columns: []string{"day", "hired_on"}},
	"attainment_revenue":         {family: "targets", aggregate: AggRatio, base: "revenue", columns: append(append([]string{}, contractCols...), targetCols...)},
	"attainment_new_customers":   {family: "targets", aggregate: AggRatio, base: "new_customers", columns: append(append([]string{}, contractCols...), targetCols...)},
	"attainment_collections":     {family: "targets", aggregate: AggRatio, base: "collections", columns: []string{"occurred_at", "payment_id", "invoice_id", "contract_id", "amount", "month", "metric", "target"}},
	"attainment_followups":       {family: "targets", aggregate: AggRatio, base: "followups", columns: append(append([]string{}, followupCols...), targetCols...)},
	"tickets_assigned":           {family: "tickets", aggregate: AggSum, columns: openedCols},
	"tickets_resolved":           {family: "tickets", aggregate: AggSum, columns: []string{"resolved_at", "ticket_id"}},
	"first_response_minutes":     {family: "tickets", aggregate: AggMedian, columns: []string{"opened_at", "ticket_id", "customer_id", "priority", "first_response_at", "response_minutes"}},
	"sla_breaches":               {family: "tickets", aggregate: AggSum, columns: []string{"opened_at", "ticket_id", "customer_id", "priority", "sla_minutes", "first_response_at", "response_minutes"}},
	"resolution_hours":           {family: "tickets", aggregate: AggMedian, columns: resolvedCols},
	"resolution_rate":            {family: "tickets", aggregate: AggRatio, columns: []string{"opened_at", "ticket_id", "customer_id", "priority", "first_resolved_at", "status_at_t"}},
	"reopen_rate":                {family: "tickets", aggregate: AggRatio, columns: []string{"first_resolved_at", "ticket_id", "customer_id", "priority", "opened_at", "reopened_at"}},
	"csat_avg":                   {family: "tickets", aggregate: AggMean, columns: csatCols},
	"csat_responses":             {family: "tickets", aggregate: AggSum, columns: csatCols},
	"complaints":                 {family: "tickets", aggregate: AggSum, columns: openedCols},
	"complaint_resolution_hours": {family: "tickets", aggregate: AggMedian, columns: resolvedCols},
}

type colDef struct {
	label  dashboard.Text
	format string
}

func txt(en, zh string) dashboard.Text { return dashboard.Text{EN: en, ZhCN: zh} }

// catalog labels and formats every column a drill query can show.
var catalog = map[string]colDef{
	"occurred_at":             {txt("Occurred at", "发生时间"), "datetime"},
	"contract_id":             {txt("Contract", "合同"), "text"},
	"customer_id":             {txt("Customer", "客户"), "text"},
	"customer_name":           {txt("Customer name", "客户名称"), "text"},
	"kind":                    {txt("Kind", "类型"), "text"},
	"amount":                  {txt("Amount", "金额"), "money"},
	"opportunity_id":          {txt("Opportunity", "商机"), "text"},
	"outcome":                 {txt("Outcome", "结果"), "text"},
	"created_at":              {txt("Created at", "创建时间"), "datetime"},
	"closed_at":               {txt("Closed at", "关闭时间"), "datetime"},
	"cycle_days":              {txt("Cycle (days)", "周期（天）"), "days"},
	"payment_id":              {txt("Payment", "回款"), "text"},
	"invoice_id":              {txt("Invoice", "发票"), "text"},
	"due_on":                  {txt("Due on", "到期日"), "date"},
	"followup_id":             {txt("Follow-up", "跟进"), "text"},
	"channel":                 {txt("Channel", "渠道"), "text"},
	"next_followup_at":        {txt("Next follow-up due", "下次跟进时间"), "datetime"},
	"answered_at":             {txt("Answered at", "跟进于"), "datetime"},
	"answered_event_id":       {txt("Answering event", "跟进事件"), "text"},
	"timely":                  {txt("Timely", "及时"), "text"},
	"lead_id":                 {txt("Lead", "线索"), "text"},
	"source":                  {txt("Source", "来源"), "text"},
	"campaign":                {txt("Campaign", "活动"), "text"},
	"first_followup_at":       {txt("First follow-up", "首次跟进"), "datetime"},
	"first_followup_event_id": {txt("First follow-up event", "首次跟进事件"), "text"},
	"hours":                   {txt("Hours to follow-up", "响应小时数"), "hours"},
	"stage":                   {txt("Stage", "阶段"), "text"},
	"valid_from":              {txt("Version of", "版本时间"), "datetime"},
	"last_followup_at":        {txt("Last follow-up", "最近跟进"), "datetime"},
	"last_followup_event_id":  {txt("Last follow-up event", "最近跟进事件"), "text"},
	"covered":                 {txt("Covered", "已覆盖"), "text"},
	"filled_share":            {txt("Filled share", "填写比例"), "percent"},
	"missing_fields":          {txt("Missing fields", "缺失字段"), "text"},
	"day":                     {txt("Day", "日期"), "date"},
	"first_login_at":          {txt("First login", "首次登录"), "datetime"},
	"logins":                  {txt("Logins", "登录次数"), "integer"},
	"hired_on":                {txt("Hired on", "入职日期"), "date"},
	"month":                   {txt("Target month", "目标月份"), "date"},
	"metric":                  {txt("Metric", "指标"), "text"},
	"target":                  {txt("Target", "目标"), "number"},
	"ticket_id":               {txt("Ticket", "工单"), "text"},
	"priority":                {txt("Priority", "优先级"), "text"},
	"is_complaint":            {txt("Complaint", "投诉"), "text"},
	"opened_at":               {txt("Opened at", "创建时间"), "datetime"},
	"first_response_at":       {txt("First response", "首次响应"), "datetime"},
	"response_minutes":        {txt("Response (minutes)", "响应分钟数"), "minutes"},
	"sla_minutes":             {txt("SLA (minutes)", "SLA（分钟）"), "minutes"},
	"status_at_t":             {txt("Status at period end", "期末状态"), "text"},
	"first_resolved_at":       {txt("First resolved", "首次解决"), "datetime"},
	"resolution_hours":        {txt("Resolution (hours)", "解决小时数"), "hours"},
	"reopened_at":             {txt("Reopened at", "重开时间"), "datetime"},
	"resolved_at":             {txt("Resolved at", "解决时间"), "datetime"},
	"score":                   {txt("Score", "评分"), "integer"},
	"submitted_at":            {txt("Submitted at", "提交时间"), "datetime"},
	// the columns every row has
	"owner_id":        {txt("Employee", "员工"), "text"},
	"owner_name":      {txt("Employee name", "员工姓名"), "text"},
	"value":           {txt("Counts for", "计入值"), "number"},
	"counts_as":       {txt("Counts in", "计入"), "text"},
	"event_id":        {txt("Event", "事件"), "text"},
	"kafka_topic":     {txt("Kafka topic", "Kafka 主题"), "text"},
	"kafka_partition": {txt("Partition", "分区"), "integer"},
	"kafka_offset":    {txt("Offset", "偏移量"), "integer"},
}
