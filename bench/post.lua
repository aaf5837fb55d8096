-- wrk script: a small non-streaming OpenAI chat request. BENCH_MODEL overrides the model
-- (e.g. "anthropic/claude-3-5-haiku-latest" for the translation case); BENCH_KEY is the bearer
-- token sent (a gateway key for the governance case).
-- BENCH_DIALECT asks the same in another inbound dialect: "anthropic" (POST it to
-- /v1/messages), "responses" or "responses-nostore" (to /v1/responses; the first keeps the
-- answer as the API's default store:true does, the second sends store:false).
local model = os.getenv("BENCH_MODEL") or "gpt-4o-mini"
local dialect = os.getenv("BENCH_DIALECT") or "chat"
local ask = "Say hello in one short sentence."
wrk.method = "POST"
if dialect == "anthropic" then
    wrk.body = '{"model":"' .. model .. '","max_tokens":64,"messages":[{"role":"user",' ..
               '"content":"' .. ask .. '"}]}'
    wrk.headers["anthropic-version"] = "2023-06-01"
elseif dialect == "responses" or dialect == "responses-nostore" then
    local store = dialect == "responses" and "" or ',"store":false'
    wrk.body = '{"model":"' .. model .. '","max_output_tokens":64,"input":"' .. ask .. '"' ..
               store .. '}'
else
    wrk.body = '{"model":"' .. model .. '","messages":[{"role":"user",' ..
               '"content":"' .. ask .. '"}],"max_tokens":64}'
end
-- BENCH_BODY_FILE sends that file's bytes as they are instead (a compressed body), and
-- BENCH_ENCODING names their Content-Encoding ("zstd"): the --encoding-only case.
local body_file = os.getenv("BENCH_BODY_FILE")
if body_file and body_file ~= "" then
    local f = assert(io.open(body_file, "rb"))
    wrk.body = f:read("*a")
    f:close()
end
local encoding = os.getenv("BENCH_ENCODING")
if encoding and encoding ~= "" then wrk.headers["Content-Encoding"] = encoding end
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("BENCH_KEY") or "bench")

local bad = 0
function response(status, headers, body)
    if status ~= 200 then bad = bad + 1 end
end

function done(summary, latency, requests)
    io.write(string.format("WRK total=%d errors_status=%d errors_sock=%d\n",
        summary.requests, summary.errors.status,
        summary.errors.connect + summary.errors.read + summary.errors.write +
        summary.errors.timeout))
end
