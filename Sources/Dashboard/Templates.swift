import Mustache

/// The dashboard's pages as Mustache templates: `{{value}}` is HTML-escaped, so whatever an endpoint
/// or an event sends (job names, payloads, errors) is shown as text; `{{{…}}}` appears only for HTML
/// the server rendered itself (a page inside the layout, the task tree).
enum Templates {
    static let library: MustacheLibrary = {
        var templates: [String: MustacheTemplate] = [:]
        for (name, text) in sources {
            // The templates are constants of this file: a parse error is a bug caught by every test.
            templates[name] = try! MustacheTemplate(string: text)
        }
        return MustacheLibrary(templates: templates)
    }()

    static func render(_ name: String, _ context: [String: Any]) -> String {
        library.render(context, withTemplate: name) ?? ""
    }

    static let sources: [String: String] = [
        "layout": """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        {{#refresh}}<meta http-equiv="refresh" content="{{refresh}}">{{/refresh}}
        <title>{{title}} · Kongflow</title>
        <link rel="stylesheet" href="/dashboard.css">
        </head>
        <body>
        <header>
          <a class="brand" href="/">Kongflow</a>
          {{#environment}}
          <nav>
            <a href="/endpoints"{{#nav_endpoints}} aria-current="page"{{/nav_endpoints}}>Endpoints</a>
            <a href="/jobs"{{#nav_jobs}} aria-current="page"{{/nav_jobs}}>Jobs</a>
            <a href="/runs"{{#nav_runs}} aria-current="page"{{/nav_runs}}>Runs</a>
            <a href="/queue"{{#nav_queue}} aria-current="page"{{/nav_queue}}>Queue</a>
          </nav>
          <form method="post" action="/logout" class="signout">
            <span class="env" title="{{environment.id}}">{{environment.organization}} / {{environment.project}} / {{environment.slug}}</span>
            <input type="hidden" name="csrf" value="{{csrf}}">
            <button type="submit">Sign out</button>
          </form>
          {{/environment}}
        </header>
        <main>
        {{#flash}}<p class="flash" role="status">{{flash}}</p>{{/flash}}
        {{{content}}}
        </main>
        <script>
        document.querySelectorAll("[data-copy]").forEach(function (b) {
          b.addEventListener("click", function () { navigator.clipboard.writeText(b.getAttribute("data-copy")); b.textContent = "Copied"; });
        });
        </script>
        </body>
        </html>
        """,
        "login": """
        <h1>Sign in</h1>
        <p>Paste an environment's secret API key (<code>tr_dev_…</code>, <code>tr_prod_…</code>). <code>kongflow env list</code> shows them.</p>
        {{#error}}<p class="error" role="alert">{{error}}</p>{{/error}}
        <form method="post" action="/login" class="login">
          <label for="apiKey">API key</label>
          <input id="apiKey" name="apiKey" type="password" autocomplete="off" required>
          <button type="submit" id="sign-in">Sign in</button>
        </form>
        """,
        "loginLink": """
        <h1>Sign in with a link</h1>
        <p>This link signs you in to the dashboard once. It was made by <code>kongflow dashboard-link</code>.</p>
        <form method="post" action="/login/link" class="login">
          <input type="hidden" name="token" value="{{token}}">
          <button type="submit" id="use-link">Continue to the dashboard</button>
        </form>
        """,
        "endpoints": """
        <h1>Endpoints</h1>
        {{^endpoints}}
        <div class="empty">
          <p>No endpoint is registered in this environment yet.</p>
          <p>Register your app's TriggerClient: <code>kongflow endpoints create --id my-endpoint --url http://localhost:3000/api/trigger</code></p>
        </div>
        {{/endpoints}}
        {{#hasEndpoints}}
        <div class="table"><table>
          <thead><tr><th>Endpoint</th><th>URL</th><th>Last index</th><th>Jobs</th><th>SDK</th></tr></thead>
          <tbody>
          {{#endpoints}}
          <tr>
            <td><a href="/endpoints/{{slugPath}}">{{slug}}</a></td>
            <td class="url">{{url}}</td>
            <td>{{#index}}<span class="status {{statusClass}}">{{status}}</span> <time datetime="{{at}}" title="{{at}}">{{ago}}</time>{{/index}}{{^index}}never{{/index}}</td>
            <td>{{jobs}}</td>
            <td>{{sdk}}</td>
          </tr>
          {{/endpoints}}
          </tbody>
        </table></div>
        {{/hasEndpoints}}
        """,
        "endpoint": """
        <p class="crumbs"><a href="/endpoints">Endpoints</a> /</p>
        <h1>{{slug}}</h1>
        <dl>
          <dt>URL</dt><dd class="url">{{url}}</dd>
          <dt>SDK</dt><dd>{{sdk}} (API version {{version}})</dd>
          <dt>Deploy hook</dt><dd class="url"><code id="hook">{{hook}}</code> <button type="button" data-copy="{{hook}}">Copy</button></dd>
        </dl>
        <div class="actions">
          <form method="post" action="/endpoints/{{slugPath}}/reindex">
            <input type="hidden" name="csrf" value="{{csrf}}">
            <button type="submit" id="reindex">Re-index</button>
          </form>
          <form method="post" action="/endpoints/{{slugPath}}/delete" onsubmit="return confirm('Delete {{slug}}? Its jobs stop running.');">
            <input type="hidden" name="csrf" value="{{csrf}}">
            <button type="submit" class="danger" id="delete">Delete</button>
          </form>
        </div>
        {{#hasFailures}}
        <h2>Registration problems of the last index</h2>
        <ul class="failures">
          {{#failures}}<li><strong>{{kind}} {{key}}</strong>: {{message}}</li>{{/failures}}
        </ul>
        {{/hasFailures}}
        <h2>Index history</h2>
        {{^indexes}}<p class="empty">Not indexed yet.</p>{{/indexes}}
        {{#hasIndexes}}
        <div class="table"><table id="indexes">
          <thead><tr><th>When</th><th>Source</th><th>Reason</th><th>Status</th><th>Stats</th><th>Took</th></tr></thead>
          <tbody>
          {{#indexes}}
          <tr>
            <td><time datetime="{{at}}" title="{{at}}">{{ago}}</time></td>
            <td>{{source}}</td>
            <td>{{reason}}</td>
            <td><span class="status {{statusClass}}">{{status}}</span>{{#error}}<div class="error">{{error}}</div>{{/error}}</td>
            <td>{{stats}}</td>
            <td>{{took}}</td>
          </tr>
          {{/indexes}}
          </tbody>
        </table></div>
        {{/hasIndexes}}
        """,
        "jobs": """
        <h1>Jobs</h1>
        {{^jobs}}
        <div class="empty">
          <p>No job is registered yet.</p>
          <p>Jobs appear when an endpoint is indexed: <code>kongflow endpoints index my-endpoint --wait</code></p>
        </div>
        {{/jobs}}
        {{#hasJobs}}
        <div class="table"><table>
          <thead><tr><th>Job</th><th>Version</th><th>Trigger</th><th>Queue</th><th>Status</th><th>Runs</th></tr></thead>
          <tbody>
          {{#jobs}}
          <tr>
            <td><a href="/jobs/{{slugPath}}">{{slug}}</a><div class="muted">{{name}}</div></td>
            <td>{{version}}</td>
            <td>{{trigger}}</td>
            <td>{{queue}}</td>
            <td><span class="status {{statusClass}}">{{status}}</span></td>
            <td><a href="/runs?job={{slugQuery}}">runs</a></td>
          </tr>
          {{/jobs}}
          </tbody>
        </table></div>
        {{/hasJobs}}
        """,
        "job": """
        <p class="crumbs"><a href="/jobs">Jobs</a> /</p>
        <h1>{{slug}}</h1>
        <dl>
          <dt>Name</dt><dd>{{title}}</dd>
          <dt>Latest version</dt><dd>{{latest}}</dd>
          {{#event}}<dt>Event</dt><dd>{{event}}{{^enabled}} <span class="status bad">DISABLED</span>{{/enabled}}</dd>{{/event}}
          {{#filter}}<dt>Filter</dt><dd><code>{{filter}}</code></dd>{{/filter}}
          {{#schedule}}<dt>Schedule</dt><dd>{{schedule}}</dd>{{/schedule}}
          {{#nextRun}}<dt>Next run</dt><dd><time datetime="{{at}}" title="{{at}}">{{in}}</time></dd>{{/nextRun}}
        </dl>
        <h2>Versions</h2>
        <div class="table"><table id="versions">
          <thead><tr><th>Version</th><th>Status</th><th>Trigger</th><th>Queue</th><th>Endpoint</th><th>Registered</th></tr></thead>
          <tbody>
          {{#versions}}
          <tr>
            <td>{{version}}{{#latest}} <span class="muted">latest</span>{{/latest}}</td>
            <td><span class="status {{statusClass}}">{{status}}</span></td>
            <td>{{trigger}}</td>
            <td>{{queue}}</td>
            <td>{{endpoint}}</td>
            <td><time datetime="{{at}}" title="{{at}}">{{ago}}</time></td>
          </tr>
          {{/versions}}
          </tbody>
        </table></div>
        <h2>Recent runs</h2>
        {{^runs}}<p class="empty">This job has not run yet.</p>{{/runs}}
        {{#hasRuns}}
        <div class="table"><table id="job-runs">
          <thead><tr><th>Run</th><th>Status</th><th>Started</th><th>Took</th></tr></thead>
          <tbody>
          {{#runs}}{{> runRow}}{{/runs}}
          </tbody>
        </table></div>
        <p><a href="/runs?job={{slugQuery}}">All runs of {{slug}}</a></p>
        {{/hasRuns}}
        """,
        "queue": """
        <h1>Queue</h1>
        <p class="muted">The background jobs that index endpoints, deliver events and execute runs for this environment.</p>
        {{^queues}}
        <div class="empty">
          <p>Nothing is queued for this environment.</p>
          <p>Jobs appear here while endpoints are indexed and runs execute: <code>kongflow events send user.created --payload '{}'</code></p>
        </div>
        {{/queues}}
        {{#hasQueues}}
        <div class="table"><table id="queues">
          <thead><tr><th>Queue</th><th>Available</th><th>Scheduled</th><th>Retrying</th><th>Running</th><th>Dead</th></tr></thead>
          <tbody>
          {{#queues}}
          <tr><td class="url">{{name}}</td><td>{{available}}</td><td>{{scheduled}}</td><td>{{retryable}}</td><td>{{running}}</td><td>{{dead}}</td></tr>
          {{/queues}}
          </tbody>
        </table></div>
        {{/hasQueues}}
        <h2>Dead jobs</h2>
        {{^dead}}<p class="empty">No job has run out of attempts.</p>{{/dead}}
        {{#hasDead}}
        <div class="table"><table id="dead">
          <thead><tr><th>Job</th><th>Attempts</th><th>Last error</th><th>Failed</th><th></th></tr></thead>
          <tbody>
          {{#dead}}
          <tr>
            <td>#{{id}} {{task}}<div class="muted url">{{queue}}</div></td>
            <td>{{attempts}}</td>
            <td><div class="error">{{error}}</div><details><summary class="muted">payload</summary><pre>{{payload}}</pre></details></td>
            <td><time datetime="{{at}}" title="{{at}}">{{ago}}</time></td>
            <td>
              <form method="post" action="/queue/{{id}}/retry">
                <input type="hidden" name="csrf" value="{{csrf}}">
                <button type="submit" class="retry" id="retry-{{id}}">Retry</button>
              </form>
            </td>
          </tr>
          {{/dead}}
          </tbody>
        </table></div>
        {{/hasDead}}
        """,
        "runs": """
        <h1>Runs</h1>
        <form method="get" action="/runs" class="filters">
          <label>Job <input name="job" value="{{job}}"></label>
          <label>Status
            <select name="status">
              <option value="">any</option>
              {{#statuses}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{value}}</option>{{/statuses}}
            </select>
          </label>
          <button type="submit">Filter</button>
        </form>
        {{{chart}}}
        {{^runs}}
        <div class="empty">
          <p>No run{{#filtered}} matches{{/filtered}} yet.</p>
          <p>Send an event a job listens to: <code>kongflow events send user.created --payload '{"userId":"u_1"}'</code></p>
        </div>
        {{/runs}}
        {{#hasRuns}}
        <div class="table"><table id="runs">
          <thead><tr><th>Run</th><th>Status</th><th>Started</th><th>Took</th></tr></thead>
          <tbody>
          {{#runs}}{{> runRow}}{{/runs}}
          </tbody>
        </table></div>
        {{/hasRuns}}
        """,
        "run": """
        <p class="crumbs"><a href="/runs">Runs</a> /</p>
        <h1>{{job}} #{{number}} <span class="status {{statusClass}}" id="run-status">{{status}}</span></h1>
        <dl>
          <dt>Version</dt><dd>{{version}}</dd>
          <dt>Created</dt><dd><time datetime="{{at}}" title="{{at}}">{{ago}}</time></dd>
          <dt>Took</dt><dd>{{took}}</dd>
          <dt>Executions</dt><dd>{{executions}}</dd>
          {{#live}}<dt>Live</dt><dd>this page refreshes every 2 s until the run ends</dd>{{/live}}
        </dl>
        <h2>Tasks</h2>
        {{^tasks}}<p class="empty">No task yet.</p>{{/tasks}}
        {{{timeline}}}
        <ol class="tasks" id="tasks">{{{tasks}}}</ol>
        <h2>Event <code>{{eventName}}</code></h2>
        <pre id="payload">{{payload}}</pre>
        <h2>{{outputTitle}}</h2>
        <pre id="output">{{output}}</pre>
        """,
        // A run in a table; `showJob` (set by the runs page) puts the job's slug before the number.
        "runRow": """
          <tr>
            <td><a href="/runs/{{id}}">{{#showJob}}{{job}} {{/showJob}}#{{number}}</a></td>
            <td><span class="status {{statusClass}}">{{status}}</span></td>
            <td><time datetime="{{at}}" title="{{at}}">{{ago}}</time></td>
            <td>{{took}}</td>
          </tr>
        """,
        "notFound": """
        <h1>Not found</h1>
        <p>{{message}}</p>
        """,
    ]

    /// The stylesheet: plain CSS, no fonts or frameworks; tables scroll sideways on a phone.
    static let css = """
    :root { --fg: #1d2330; --muted: #6b7280; --line: #e5e7eb; --ok: #0f7b3e; --bad: #b42318; --wait: #8a5a00; --run: #1d4ed8; --bg: #fafafa; }
    * { box-sizing: border-box; }
    body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
    header { display: flex; flex-wrap: wrap; gap: .5rem 1.25rem; align-items: center; padding: .75rem 1rem; background: #fff; border-bottom: 1px solid var(--line); }
    .brand { font-weight: 700; color: var(--fg); text-decoration: none; }
    nav { display: flex; gap: 1rem; }
    nav a[aria-current] { font-weight: 600; text-decoration: underline; }
    .signout { margin-left: auto; display: flex; gap: .5rem; align-items: center; }
    .env { color: var(--muted); font-size: .85rem; }
    main { padding: 1rem; max-width: 72rem; margin: 0 auto; }
    h1 { font-size: 1.4rem; margin: .25rem 0 1rem; } h2 { font-size: 1.1rem; margin-top: 1.5rem; }
    a { color: var(--run); }
    .table { overflow-x: auto; background: #fff; border: 1px solid var(--line); border-radius: 6px; }
    table { border-collapse: collapse; width: 100%; }
    th, td { text-align: left; padding: .5rem .75rem; border-bottom: 1px solid var(--line); vertical-align: top; }
    th { font-size: .8rem; color: var(--muted); font-weight: 600; }
    .url { word-break: break-all; }
    .muted { color: var(--muted); font-size: .85rem; }
    .status { display: inline-block; font-size: .75rem; font-weight: 600; padding: .1rem .45rem; border-radius: 999px; border: 1px solid currentColor; }
    .ok { color: var(--ok); } .bad { color: var(--bad); } .wait { color: var(--wait); } .run { color: var(--run); }
    .error { color: var(--bad); white-space: pre-wrap; }
    .empty { background: #fff; border: 1px dashed var(--line); border-radius: 6px; padding: 1rem; }
    .flash { background: #eef6ff; border: 1px solid #c7ddff; padding: .5rem .75rem; border-radius: 6px; }
    dl { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; }
    dt { color: var(--muted); }
    dd { margin: 0; }
    pre { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: .75rem; overflow-x: auto; white-space: pre-wrap; word-break: break-word; }
    .actions { display: flex; gap: .5rem; margin: 1rem 0; }
    button { font: inherit; padding: .35rem .8rem; border: 1px solid var(--line); border-radius: 6px; background: #fff; cursor: pointer; }
    button.danger { color: var(--bad); }
    .login { display: grid; gap: .5rem; max-width: 26rem; }
    input, select { font: inherit; padding: .35rem .5rem; border: 1px solid var(--line); border-radius: 6px; }
    .filters { display: flex; flex-wrap: wrap; gap: .75rem; align-items: end; margin-bottom: 1rem; }
    .tasks, .tasks ol { list-style: none; padding-left: 1rem; border-left: 2px solid var(--line); }
    .tasks li { margin: .4rem 0; }
    .tasks .task-error { color: var(--bad); }
    svg.chart { width: 100%; max-width: 36rem; height: 5rem; display: block; margin: 0 0 1rem; }
    svg.timeline { width: 100%; height: auto; display: block; margin-bottom: .5rem; }
    code { font-size: .9em; }
    """
}
