/**
 * The search scenario's English vocabulary: the 3,000 most frequent words of
 * Parley's own documentation (docs/*.md and README.md on 2026-12-07), most
 * frequent first, frozen here so that the seeded text does not change when
 * the docs do. Messages draw from it with Zipf weights by rank, as people's
 * words are distributed.
 */
export const ENGLISH_WORDS: readonly string[] = (
  "the and is in of room it or with message to one on per its ms that ts at not are for socket an from as every by rooms " +
  "no node server seq parley so after messages read each only user ext file run same up id before body cpu member event " +
  "files send when client sockets events test get http what text redis never nodes once own then emoji frame first " +
  "default sent ws roomid this name type thread over does database you resume api frames most error limit deleted json " +
  "stored nothing their them has commit may members md was new cookie if reactions upload reaction typing ack page time " +
  "batch post runs token url bytes sqlite while out other path bearer postgresql reply any delivery live open request " +
  "answer answers replies step else refused two presence sends start they all more public also bench errors address data " +
  "history which without list many root can command connection direct too code last left uploads core order rate names " +
  "nginx none session than back kib log set characters shows websocket fsync load machine be catch port shared csrf " +
  "fanout next another clientid docs joined size store username where your already second auth close content limits " +
  "created holds target under dm gets kept main metrics mib npm results image keeps minute retry header io past steps " +
  "attachments check counts pending through both bus group query receipts socketio there users work delete edit loop " +
  "stops whose but login messageid ready storage wait cannot copy line see sign web again checks closed here protocol " +
  "write writer change count password threads tsx wal below delivered goes added clients leave max table true add author " +
  "carries commands mentions says tests until who checked postgres process src such takes about against changes cursor " +
  "during form held into issue lastseq long now reconnect starts state transaction would written failed keep membership " +
  "re route still account do down gateway generator ids ones rss window above bound browser composer connections " +
  "deliveries hold how row share updated bar closes details must pass people png queue reads edits email end ephemeral " +
  "full measured named owner private removed status stop timeline upgrade use voice adds carry cluster cut durable edited " +
  "focus null offline someone vs writes budget deletion endpoint have inside made needs openapi replyto requests turn " +
  "userid between counted dir fields otherwise outside position search show tokens way whole anything behind beside " +
  "bucket disk exist fixed harness included realtime restart single unknown waits app bot ends idle index instead memory " +
  "pages role rows sending serves used applied bare connect curl directory display document head malformed off pool proxy " +
  "px reaches real routes rules service signup stays stores stream waiting answered around balancer build button comes " +
  "commits empty field flag heartbeat highest key kysely leaves opens put range relay security seqs yet always " +
  "authenticated control download host input inthread js lists pinned publish reading scenario self shutdown tab unit " +
  "width alone attachment background built call credentials either itself later origin person plus prepared queries quiet " +
  "rest schema shown slow source stages thumbnail unread were within admin anyone attempts audio away come const contract " +
  "conversation costs dist drain example fails logged logs lost newest offered profile readyz resumes services setting " +
  "several since stall stopped alsoinroom cache dialect dropped everything fan few gap grace hash headers invalid kind " +
  "latest logout me method missing number older online others prefix processes random schemas seconds stalls stay taken " +
  "unless absent byte character codes config cost drop flush forbidden go had join libuv like min passes quick served " +
  "synchronous unique update uploaded utf visible warn worker works actions ada application apply aria arrive " +
  "authentication bad batches bursts caller cores could csrftoken db even hidden html ignored localhost makes marks " +
  "meanwhile migrations note part pid ping quota remove replay retryafter rgi right speed times box buffer case " +
  "checkpointer createdat earlier ended escape false flight gc integration level move opened passing peer phone pixels " +
  "proc refuses replayed reported rule seen sender sh signed startup targets tombstone twice unicode ups video acked " +
  "alive allowed answering batched because bidi copies create deletions encoded expired fastify found gives height hour " +
  "interval lastreplyat missed moved multipart network optional passwords place progress raw running scaling sidebar " +
  "temporary those trimmed unavailable unsent valid whatever accepted accounts acks across chat console copied crash " +
  "different enter entry failure fix gib hover installation intake invisible kernel keyboard latency listener mean mjs " +
  "moves need nobody non old parameters pure qualified reach region settings side suite topic view waveform zod activity " +
  "actor announced authorization bubble busy cancel checkpoint did distinct draft environment examples flood format fresh " +
  "fully function hashes hasmore images joins just least longer messaging outage outbox passed pdf pin positions prints " +
  "queued quote replays repliers returns scenarios short slack soak take themselves three timeout together total trust " +
  "types uploader value webm whether wrong abuse access announcer anywhere arrives backends being benchmarks binary " +
  "bodies bounds builds chromium column compiled configuration creation current deletes deleting duration durationms echo " +
  "endpoints env except fetched flags forwarded fsyncs gone handed length let light lose loss map measures migration " +
  "moving much newer normal object params parse plain previous prof react recorded refuse reports resuming return " +
  "roomwriter signal sql stage started summary tables taskset tcp these trimming webp why adapter apart apperror asks " +
  "attempt base baseline bob bounded committed connected controls counter credential dead deadlock declared decoded " +
  "dialog drains editedat envelopes everyone exact exits far fetch finished focused follow free gif give integer " +
  "interface kb keys known lastmessage lastreadseq listed loads lock mention minutes nice parsed pings present preview " +
  "published publishes puts reached reconnects refusal reload replycount said screen script serving sessions sets sheet " +
  "stack string title took ttl wire word words working active arrived authenticate aws belongs cached capped ci click " +
  "concurrent covers decoding defaults deletedat dev displayname emojibase entries exactly failures fileid floor follows " +
  "four half healthz hello help idempotent identity insert install internal jpeg keyed late layout leaving linux looked " +
  "make marked mb meaning mentioncount microphone nfc opening owasp parameter parsing parts picker readable reader readme " +
  "recent refusals restarts rewritten scripts sees sentence separate servers shape sigterm split stable stands statements " +
  "streamed system taking task topics transport turns very wall wins workers yours addresses area ascii awaited backoff " +
  "better blanked bots broadcast buckets came caught changed choose clamped clock colour com components cookies ctrl " +
  "design editing envelope extensions fail filename fills followed given hand hashing helpers https icon includes info " +
  "invariant know lands large larger leaver limited local locks lower match media median messageversion moment my naming " +
  "objects ogg opaque operations output panel patch percent photo policy power ratelimit received receives report " +
  "response result resumed retried semantics sequence shares should skips sniffed something starting startms statuses " +
  "strings throw tombstones traffic typed ui units unset userids uses values version views vite wcag wrote yield achieved " +
  "action announces applies ascending asleep async axe been blanks bottom boundaries browsers buttons called caps channel " +
  "chatclient chatshell chatstate co common compare compatible computed concurrency confirms consumer conversations " +
  "copying cross cursors dark date day decode deliver differs encoding entities equal exif exists exit expected extra fc " +
  "fixes fixtures flooding framed front further fuzz going graceful hands hardening health heard hit holding hook hosted " +
  "however ignoring imports including inline intel jar jq largest less limiting lines link listen lives loadgen longest " +
  "loses menu metadata minio model neither nor notes numbers onrequest operation operator parleyenv pauses permission pg " +
  "processor proxies queues ran readers recording registry repeated res resolves resync retries rewrites rfc roomservice " +
  "runcommand saturated say scraped sdk shapes shell shift signals silently sort stalled stat statement stopping straight " +
  "sweeper synchronously tabs tap tell temp timers top transports tree tried unreadcount upgrades upright warm went " +
  "whichever whoever windows wrap xeon zwj aborts accessibility actually allow allows alt appear applying architecture " +
  "arrows await backlog badge bars begin believed beyond block break bundle burst callers cap carried catches closing " +
  "collected conf conn connecting conventions correct cover creates css deadlocks debug delivers deploy deps differ " +
  "divided domain done durability effect err etag everywhere fake fast findbyclientid five floods forms forward frametext " +
  "framing fsynced gaps garage garbage generation grew grows growth handful handle happened histogram home img iso joiner " +
  "jpg jump keeping label lastactivityat lastseenat lately latencies library listening loaded logins look loopback " +
  "marginal mark mattermost meets messageitem met mime module mostly multi net noisy notfound notify nul oldest option " +
  "origins pairs pane parsecommand pause pays persistence pixel plays polling previews production prometheus quarter " +
  "quieter quoted quotes ranges rates rather reason receipt recorder records reducer removes render replace replaced " +
  "replied requiremember requiresender resend reverse roomslock roomview router safe sampling scratch seed seeded segment " +
  "shutting sigint signature sits sizes skin skip small smaller soon space spread stale streams submit subscribed suites " +
  "sum switch terminal tested thumbnailurl tick timer timing tls tmp today told touch tr trusted typist unrecorded " +
  "uploadid uploading urls us usernames usr usually uuid validation variable versions violation virtual walsync ways " +
  "wherever will worked yourself aa accepts acknowledged acting acts adding adduserids admins ahead alice among animation " +
  "announcement anonymous appended asked attached attack attacks authenticates authservice avatars avif backend backfill " +
  "battery bin binds blank blocked blocks breaks brings buffers byroom calls cancelled chars charset chatreducer " +
  "checkpoints chosen clear clears cli combining comma compact connects consumers corked corrupt databases decides " +
  "declare declares delay derived described desktop dies disconnected disposition documents dots drainms drawn drives " +
  "drops echoes edges element elsewhere embedded emits enough errorboundary errorresponses errorstatus etc ever existed " +
  "existing expires expiry failover fall fanned faster feature figures fine firstrun flac flat flow folder force " +
  "generated getting github glance gps grid growing gzipped handled handling happen hasmoreafter having headformember " +
  "heading headline heartbeats hits horse hundred import indicator ins installations instance interpolated invite " +
  "iterating joining kinds knows leader letters lib machines maps margin markread means measurable measure meet " +
  "membersamong membersperroom memorybus merging messageservice mine mode motion mouse near noise normalized nosniff " +
  "noted octet offers often openstore options orders ordinary override overshoot pace parent parser parses passive " +
  "payload peak picks picture playwright polite ports posts preload press pub querystring reachable reactor receiving " +
  "recipients reconnectms reference rejoined release removeuserids rendered renders replaces required resets restarted " +
  "restarting resumable returning rises roomindex roomsize roomviews round rowid samples sandbox scale schedstat " +
  "scheduled scheme scrape screens section secure select separated setimmediate setup sha sharp shortcuts sigkill signing " +
  "signups silent slot sniff sources spawn spelling stderr stime storedialect storemessage stretch style styles sub " +
  "submitted subscribe subscription subscriptions support survives svg tabindex tag tags tail tasks team tells textarea " +
  "thousands threat trace transactions truncated try tsup turned unpaired unparsed unpinned unsubscribe usual utime " +
  "validates via visually vitest wav websockets well whenever worst xmlhttprequest young zero accept act actorof " +
  "afterwards aggregated agrees alert alike alikes animated animations anyway apt arrays arrival attaches attachmenttext " +
  "awaits badges bdi becomes beforecommit began benchmark bidirectional big bind bits bodychars bombs boolean boundary " +
  "boxes breakdown bring broken browsable buffered bumps buslost camera cancels carrying cases cause ceiling centre ceph " +
  "changing cheat checksums child chip chips chunks churn cidr claims clicked closecode color combobox comments compares " +
  "compiler compression computes consecutive constant contain containing copyms counters counting covered crafted crashed " +
  "creator critical crowd cv cve datadir days deadline debian debounced decide decided decompression defines deletedby " +
  "depth description descriptor device devices differently digit digits directly divider documented doubles driver " +
  "duplicate duplicates early east edge emails embed emit emptied encodes engine enqueue equalizer errorcode exception " +
  "exe exited explains explicit exports extended extension faint fallback fdatasync fdp fetches fewer fill filled final " +
  "finds finish firewall fixturebuildms fixturecached flap flushed flushes former frametexts gb general getuser global " +
  "gossip got gracems grants grow guesses handler happens hashed headerstimeout headless heap hear hears heic hex high " +
  "highlight highlights hint histograms hooks idempotency identify ignores immutable implemented implies imported indexes " +
  "initial inode insensitive insertion inserts interpreted intimeline invoice invoiceexe isolates killed labels lag laid " +
  "land lateness leads learn lets letter levels libvips lies lightbox likely links lived loading locked locking logic " +
  "lone looks loudest lowest macrotask magic markdown matches matters meant measurements mediarecorder membercount " +
  "mentioned meta metricsurl modal modified native needed negative nextid normalizeemoji notice notices nowhere ok " +
  "onbuslost onready optionally opus ordered orientation otherroomid our outcome outstanding overall overflow overrides " +
  "owners pagetitle paint passwd paths pattern percentiles performance persist personal pick pinged pinning pino plan " +
  "play plugin pong pongs portal prefers prefixed presencestore pressed primary printable priority probe probes " +
  "problemview produced profiling promise proportions publisher ratio reacted readroomevents readtracking rebuild " +
  "recipient reconnecting redisbus reduced refresh refreshed registered relative reliably remains removeuploads renamed " +
  "repeat repeats replacedat replying reqid require requires rerun reset resolve resolved resource returned reveals " +
  "revoked roles roomenvelope roomsperuser routeroomevent routing sample sampled sane save savepoints saves sbin " +
  "scheduling schemes scrapes screenshots scrolling searches secret seedms seek seeking selector senderlag senderror " +
  "serial serialized serializes serious shipped shortcodes shuts sides sideways simply site sized skipped slab slice " +
  "slider slowest slowly smoke snapshot socketclient some somewhere sorted spans sparticuz speaks spellings spends spent " +
  "srv stand stayed sticky submitsteps subquery subscribes success suffix supports surrogates survive swagger switches " +
  "tenth terminate testid therefore thin thing things throttles throughput throws thumbnailwidth thus ticks timelines " +
  "timeouts tone tones tooltip touches tracking tracks trailing transform travels treat trusting txt typecheck typists " +
  "unacked unchanged unexpected uploadqueue upstream usechat utc validated variables variation verbatim verifications " +
  "viewport visibility voicerecorder vouch wai wake warmupms white withreaction wrapped writing yes yields abandoned abc " +
  "abort absorbs accessible accident accurate acknowledges acl activating additive addmember addr addressed addresskey " +
  "adjusts admitted advance affect age ago agreement aid aliases aligned allocates allowing almost aloud although am " +
  "amortise analysernode anchoring anew announce apg apierror appears appends approach apps arabic arbitrary archives " +
  "areas arriving arrow arrowdown arrowup aside ask aspect assembles asserting asserts assign asvs attach attachmentof " +
  "attachuploads attacker attacking attention attributed authors authscreen autocomplete automatic availability avatar " +
  "average avoid avoided axeviolations backing backlogged backstop backup backups bag bash batching beat beats became " +
  "beforehand begins behaviour believes believing belong besides bigger biggest bisected black blob blocking blown blur " +
  "bodiless bookkeeping booleans border bounding branch browse bubbles bug bugs builder building bulk bump bundled burns " +
  "busier byuser calling candidates card cards carol cased catching catchup cells centred cgroup channels charged charges " +
  "chart charts cheap cheaper checkbox checking checkpointed children choice choosing chose chrome chunk chunked churned " +
  "claim claimed clamping clamps class classes classifies cleanfilename cleared clearmentions clicking clipboard " +
  "clustered cmd coarse collapse collapses collections collide colored colours comment comparison compete compiles " +
  "complementary composition conclusions conclusive concurrently configerror consequence construction contains contents " +
  "context contexts contiguous continue contrast conventional converge converges coordinated coordinator copydatabase " +
  "copyfiles cork corner corrects correlated correlation cors countdown countreply countunread covering cpuprofile craft " +
  "crashes createdb createmetrics createroom createserver createservices createtoken creating creations crypto csp " +
  "csrfvalid cumulative customer cuts danger dashed dataloader debt debugging decorative dedupe deep defence defends " +
  "defensively degrades delays deleteobject deliverlocally deny depend dependencies dependency depending depends " +
  "deploying deployment derive describedby describes destroy detected developer devtools dialects differed difference " +
  "directions dirties disabled disallowed discard disconnects discovery diskbusypct diskstorage dismiss displays dividers " +
  "divisor doc documentation docx dominates dot dotted doubling downloads downtime dragged drags draining drift " +
  "dropsocket dynamic echoed econnrefused eight elapsed embedding embeddings emojipicker emojischema en engineer " +
  "engineers enlarged enters entity ephemeralstore equals erased erases errorbody errorcodes escapes eslint exceptions " +
  "exceptuserid executed executequery existence expanded expect expensive experiments expire expiresat expiring " +
  "exponentially exported expose exposed external extraargs factories failing falls fans fatal fds features feed feff " +
  "figure filestorage filesweeper filler filling filtering find finishes fit fitted fixture flapping flows fold folded " +
  "following footer forced foreach foreign forgets formatsize fromentries fs functions future gate gcs generate getobject " +
  "getpino getself getusermedia git goals good greyed grouping guarantee guaranteed guarded guess halved handlers " +
  "handshake harmless hasfocus hdrhistogram hdrhistograms headbucket heads heaps heif helo helps hides hiding higher " +
  "hijacking his hiss historypage hop hostile hosting hosts hours hovered httponly hundreds hyphens hz ignore ime " +
  "imitates immediately impersonate impersonation implementation include incoming incomplete increase increments indexed " +
  "indexeddb indexof indic indicators inferred infinity informs initdb injected injects inlined innerhtml inset installed " +
  "installs intact integers interactive interleaving interrupted interruption invariants inviting ios ipaddr ipc isleader " +
  "ismobile isolate isolating issues istypingframe item items javascript jit jitter job joinedat jumps kbit keystroke " +
  "kills knew labelledby landed landing landmark lasts launchbrowser lax layer lazily lazy lead leaf leftovers lengths " +
  "lenient life lifecycle lifetime lifts limiters limitnofile lint listbox listbucket listeners listens listing listitem " +
  "lit literal liveness living loadconfig loadgencpupct locally localstorage lockstep lockuser logger logging logrequests " +
  "looking lookup loris lot low lowering lowers lru lunch machinery maintain making mapping markdelivered markers marking " +
  "masked mass master matching matrix maxima maximum meanbatchsize meanfsyncms meanqueuems meanrunms mediabox " +
  "membersdialog mentionoptions mentionqueryat mentiontext menuitem merged merges messagelist messenger microtask " +
  "microtasks migrate migrated million milliseconds minimally minus misbehaves miss misses mistyped mm mnt mobile mod " +
  "moderation modifier mounted mousedown movers msg mutex myroomids nan nanoseconds narrow narrows networks newcomer " +
  "newid newlines nfs noisier noon normalization nosocketcounts noticed nowiso npx nullable observations office offs " +
  "omission onbus onbusback oneself onframe onlinecount onlost onprogress onread onresync onsend op openbus opendirect " +
  "openfilelimit operating operators opts ordering os otherus outlive outsider overhead overlaid overlap overshot package " +
  "packages packet packets pad padded pair palette panes paperclip paragraph parallel parents parleyapi parleyserver " +
  "parsementions partial party passwordhasher paste pasting pay peaks peekcommandid peeked peers perf perform permissions " +
  "persian persisted persisting phases picked pictograph pictures piece pile pipe pipeline placed plannedsends platforms " +
  "played players playing plenty pointing polyglots popover portable possible possibly posted pre precedence prehandler " +
  "presencedot presenceof pressure prevention probed probing procedure processed processing produces profiler project " +
  "projected projects prom prompts prop protected proto prototype provider provokes ps psql publicroomids publicurl " +
  "punctuation purpose push putobject qualification quietly races racing raised randomuuid ranged ranks rarely rarer " +
  "ratios reactors reacts readableseq readall readings readtracker reasons rebuilds receiptmark receiptservice receiver " +
  "receivers recognised recommends record recordreply recover red rediss reduce ref refers refreshes rejected relation " +
  "relevance reloaded rely remain remaining remotetypists removal removing reopening reopens reorder reordering repaired " +
  "repeatable replypreview replyquote replyservice reproduced requiremessage requirepass resends resent resizeobserver " +
  "resizes responses restored restores resumeevents retires retrying reused revealed revealseq revives revoke rewrite rgw " +
  "rights risk robin roll rolling rolls roomidof roomlock roomstream roots rotating rough roughly rounds roving rs " +
  "runnable runsteps runstepssync safari samesite saved saw scaled scanned scatter schedule scope scoped"
).trim().split(" ");
