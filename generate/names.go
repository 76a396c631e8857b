package generate

// Static vocabularies of the simulated company. Indexes into these tables are
// what events carry internally; strings are only touched when a message is
// written.

var surnames = []string{
	"Li", "Wang", "Zhang", "Liu", "Chen", "Yang", "Zhao", "Huang", "Zhou", "Wu",
	"Xu", "Sun", "Hu", "Zhu", "Gao", "Lin", "He", "Guo", "Ma", "Luo",
	"Liang", "Song", "Zheng", "Xie", "Han", "Tang", "Feng", "Yu", "Dong", "Xiao",
	"Cheng", "Cao", "Yuan", "Deng", "Peng", "Pan", "Shen", "Jiang", "Wei", "Lu",
}

var givenNames = []string{
	"Wei", "Fang", "Min", "Jing", "Lei", "Jun", "Yan", "Tao", "Ming", "Xiuying",
	"Na", "Qiang", "Yong", "Jie", "Li", "Hui", "Ping", "Gang", "Xin", "Hao",
	"Yu", "Chen", "Lin", "Yifan", "Zihan", "Haoran", "Yuxuan", "Xiaoming", "Jiahui", "Shuang",
	"Ting", "Peng", "Bo", "Lan", "Kai", "Rui", "Yue", "Xue", "Qian", "Dan",
	"Hong", "Chao", "Liang", "Mei", "Ning", "Zhiwei", "Xiaohong", "Jianguo", "Yuting", "Siyu",
}

var englishFirst = []string{
	"James", "Emma", "Oliver", "Sophie", "Daniel", "Grace", "Michael", "Chloe", "David", "Hannah",
	"Thomas", "Olivia", "Ryan", "Lucy", "Kevin", "Amy", "Jason", "Linda", "Eric", "Vivian",
	"Peter", "Cathy", "Frank", "Helen", "Tony", "Sandy", "Leo", "Iris",
}

var englishLast = []string{
	"Miller", "Clarke", "Walker", "Bennett", "Turner", "Hughes", "Parker", "Wright", "Foster", "Brooks",
	"Reed", "Carter", "Hayes", "Morgan", "Ellis", "Fischer", "Laurent", "Novak",
}

// Customer (company) name parts.
var cities = []string{
	"Shanghai", "Beijing", "Shenzhen", "Hangzhou", "Suzhou", "Nanjing", "Chengdu", "Wuhan",
	"Xiamen", "Ningbo", "Qingdao", "Tianjin", "Guangzhou", "Dongguan", "Foshan", "Hefei",
	"Changsha", "Xi'an", "Kunming", "Dalian", "Wuxi", "Jinan", "Fuzhou", "Zhengzhou",
}

var brands = []string{
	"Huaxin", "Jinhua", "Tianyi", "Hongda", "Xinyuan", "Ruifeng", "Boyuan", "Kaida",
	"Zhongke", "Haitian", "Mingtai", "Shengshi", "Yuanfang", "Longteng", "Baixin", "Jiahe",
	"Hengtong", "Dingxin", "Anke", "Fuyuan", "Jiuzhou", "Lianchuang", "Weiye", "Chuangyi",
	"Yongsheng", "Guanghua", "Tianrun", "Meida", "Sanhe", "Huarui",
}

var brandsLower = func() []string {
	out := make([]string, len(brands))
	for i, s := range brands {
		b := []byte(s)
		for j, c := range b {
			if c >= 'A' && c <= 'Z' {
				b[j] = c + 'a' - 'A'
			}
		}
		out[i] = string(b)
	}
	return out
}()

var companySuffixes = []string{
	"Trading Co., Ltd.", "Technology Co., Ltd.", "Manufacturing Co., Ltd.", "Logistics Co., Ltd.",
	"Medical Devices Co., Ltd.", "Foods Co., Ltd.", "Electronics Co., Ltd.", "Precision Machinery Co., Ltd.",
	"Packaging Co., Ltd.", "New Energy Co., Ltd.", "Building Materials Co., Ltd.", "Auto Parts Co., Ltd.",
	"Hotel Management Co., Ltd.", "Education Group", "Pharmaceutical Co., Ltd.", "Textile Co., Ltd.",
}

// Some customers are registered under their Chinese name.
var chineseCompanyNames = []string{
	"杭州华信科技有限公司", "上海天一贸易有限公司", "深圳宏达电子有限公司", "苏州瑞丰精密机械有限公司",
	"南京博远物流有限公司", "成都凯达医疗器械有限公司", "武汉中科新能源有限公司", "厦门海天食品有限公司",
	"宁波明泰包装有限公司", "青岛盛世汽车配件有限公司", "天津远方建材有限公司", "广州龙腾酒店管理有限公司",
	"东莞百信纺织有限公司", "佛山嘉禾家具有限公司", "合肥恒通电子有限公司", "长沙鼎新教育科技有限公司",
}

var englishCompanyNames = []string{
	"Northwind Traders", "Bluefin Logistics Ltd.", "Greenfield Foods Asia", "Summit Precision Ltd.",
	"Harbor Medical Supplies", "Silverline Electronics", "Eastbridge Hotels", "Crescent Packaging Ltd.",
	"Redwood Auto Components", "Brightpath Education", "Pacific Rim Textiles", "Orion Energy Systems",
}

var emailPrefixes = []string{"info", "contact", "sales", "purchasing", "admin", "service", "office"}
var emailDomains = []string{".com", ".cn", ".com.cn", ".net"}

var industries = []string{
	"Manufacturing", "Retail", "Healthcare", "Logistics", "Education", "Construction",
	"Food & Beverage", "Electronics", "Automotive", "Energy", "Finance", "Hospitality",
	"Agriculture", "Software",
}

var regions = []string{
	"East China", "North China", "South China", "Central China", "Southwest China",
	"Northeast China", "Northwest China", "Hong Kong", "Overseas",
}

var customerNeeds = []string{
	"ERP upgrade", "Cloud migration", "Annual maintenance contract", "Production line monitoring",
	"Bulk equipment purchase", "Staff training", "CRM integration", "Energy saving retrofit",
	"After-sales service package", "Replacement parts", "Data analytics dashboard", "Warehouse automation",
	"需要年度维保服务", "希望降低采购成本",
}

// Lead sources with their share of leads (per mille) and campaigns.
var leadSources = []string{"website", "referral", "trade_show", "wechat", "cold_call", "partner", "webinar"}
var leadSourceWeights = []float64{30, 14, 12, 20, 10, 6, 8}

// campaignsBySource lists campaign indexes (into campaigns) per source; a
// lead of a source without campaigns has none.
var campaigns = []string{
	"Baidu Search Ads", "SEO Landing Page", "Spring Expo Shanghai", "Autumn Trade Fair Guangzhou",
	"WeChat Moments Ads", "WeChat Mini Program Promo", "Smart Factory Webinar", "Cost Saving Webinar",
	"Customer Referral Bonus", "Partner Referral Program", "Newsletter", "LinkedIn Ads",
}
var campaignsBySource = [][]uint8{
	{0, 1, 10, 11}, // website
	{8},            // referral
	{2, 3},         // trade_show
	{4, 5},         // wechat
	nil,            // cold_call
	{9},            // partner
	{6, 7},         // webinar
}

// Enumerations of events.md, in the order of the internal codes.
var roles = []string{"sales", "service", "marketing", "manager", "executive"}

const (
	roleSales uint8 = iota
	roleService
	roleMarketing
	roleManager
	roleExecutive
)

var custStages = []string{"lead", "prospect", "customer", "churned"}

const (
	stLead uint8 = iota
	stProspect
	stCustomer
	stChurned
	stKeep = 255
)

var channels = []string{"phone", "visit", "wechat", "email", "meeting", "other"}

const (
	chPhone uint8 = iota
	chVisit
	chWechat
	chEmail
	chMeeting
	chOther
)

var oppStages = []string{"qualification", "needs_analysis", "proposal", "negotiation", "won", "lost"}

const (
	osQualification uint8 = iota
	osNeeds
	osProposal
	osNegotiation
	osWon
	osLost
)

var lostReasons = []string{
	"price too high", "chose competitor", "no budget", "project cancelled",
	"no decision", "timing not right", "requirements not met", "lost contact",
}

var loginClients = []string{"web", "mobile", "api"}

var targetMetrics = []string{"revenue", "new_customers", "collections", "followups"}

const (
	tmRevenue uint8 = iota
	tmNewCustomers
	tmCollections
	tmFollowups
)

var contractKinds = []string{"new", "renewal", "upsell"}

const (
	ckNew uint8 = iota
	ckRenewal
	ckUpsell
)

var priorities = []string{"low", "normal", "high", "urgent"}

const (
	prLow uint8 = iota
	prNormal
	prHigh
	prUrgent
)

// slaMinutes is the default first-response SLA per priority.
var slaMinutes = [4]int64{1440, 480, 240, 60}

var ticketChannels = []string{"email", "phone", "web", "wechat", "chat"}
var ticketCategories = []string{
	"billing", "installation", "hardware fault", "software bug", "account access",
	"delivery", "training", "how-to question", "complaint",
}

const catComplaint = 8

var csatComments = []string{
	"Quick and helpful, thanks!", "Problem solved on the first call.", "Engineer was very professional.",
	"Took too long to get a response.", "Issue came back after a week.", "OK.",
	"服务很好，谢谢", "响应太慢了", "Had to explain the problem three times.", "Great support team.",
}

// Follow-up summaries per channel.
var followupSummaries = [][]string{
	chPhone: {
		"Called to confirm requirements", "Followed up on the quotation", "Discussed renewal pricing",
		"Checked budget timeline", "Clarified invoice questions", "电话沟通报价细节", "Left a voicemail",
	},
	chVisit: {
		"On-site visit, met purchasing manager", "Site survey for installation", "Visited plant to review line setup",
		"拜访客户，演示新功能", "Quarterly business review at customer office",
	},
	chWechat: {
		"Sent product brochure on WeChat", "Shared case study", "微信发送报价单", "Answered questions about delivery time",
		"Sent meeting invitation",
	},
	chEmail: {
		"Emailed proposal draft", "Sent contract for review", "Sent webinar recording", "Followed up by email on open issues",
	},
	chMeeting: {
		"Demo of the new module", "Negotiation meeting with procurement", "Kick-off meeting", "Technical workshop",
	},
	chOther: {
		"Met at industry event", "Met at trade show booth", "Dinner with decision maker",
	},
}

// Unknown extra data fields that some producers add; they must be kept.
var extraFields = []string{
	`"source_system":"crm-mobile"`,
	`"ext_ref":"SF-004217"`,
	`"tags":["vip","q-review"]`,
	`"meta":{"app_version":"5.2.1","device":"ios"}`,
	`"currency":"CNY"`,
	`"sync_batch":20931`,
	`"comment_internal":null`,
	`"locale":"zh-CN"`,
}
