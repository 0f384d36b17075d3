// duckdb.mjs -- what many users reach for: DuckDB over a raw access log.
//
//   node bench/duckdb.mjs LOG
//
// Reads LOG as one text column, parses every line with a regular
// expression into client, time, method and URL (lines that do not match
// are dropped, as malformed, and so are impossible times and lines that
// are not UTF-8, which DuckDB cannot read), and answers what logtally answers first:
// distinct clients, the top 10 URLs and the busiest second.  Prints one
// JSON object: {"clients": N, "top": [[url, count], ...], "peak": {"second":
// S, "requests": N}}.  DuckDB (npm package @duckdb/node-api) uses every
// core; bench/run.sh installs it under its data directory.
import { DuckDBInstance } from '@duckdb/node-api';

const log = process.argv[2];
if (!log) {
  console.error('usage: node bench/duckdb.mjs LOG');
  process.exit(2);
}
const quote = (s) => "'" + s.replace(/'/g, "''") + "'";
// A byte no access log line holds (BEL) as the separator, no quoting: each
// line is one value.
const lines = `read_csv(${quote(log)}, columns = {'line': 'VARCHAR'}, header = false,
  delim = '\u0007', quote = '', escape = '', auto_detect = false, strict_mode = false,
  null_padding = true, ignore_errors = true)`;
const re = String.raw`^(\S+) \S+ \S+ \[(\d\d/\w\w\w/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})\] "([A-Z]+) ([^ "]+)[^"]*" (\d\d\d) (\d+|-)`;

const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
await con.run(`CREATE TEMP TABLE p AS
  SELECT m['client'] AS client, m['url'] AS url,
         epoch(try_strptime(m['ts'], '%d/%b/%Y:%H:%M:%S %z'))::BIGINT AS second
  FROM (SELECT regexp_extract(line, ${quote(re)}, ['client', 'ts', 'method', 'url']) AS m
        FROM ${lines})
  WHERE m['client'] <> ''`);
await con.run('DELETE FROM p WHERE second IS NULL');
const rows = async (sql) => (await con.runAndReadAll(sql)).getRows();
const clients = (await rows('SELECT count(DISTINCT client) FROM p'))[0][0];
const top = await rows(`SELECT url, count(*) AS n FROM p GROUP BY url
                        ORDER BY n DESC, url LIMIT 10`);
const peak = (await rows(`SELECT second, count(*) AS n FROM p GROUP BY second
                          ORDER BY n DESC, second LIMIT 1`))[0];
console.log(JSON.stringify({
  clients: Number(clients),
  top: top.map(([u, n]) => [u, Number(n)]),
  peak: { second: Number(peak[0]), requests: Number(peak[1]) },
}));
