/**
 * The console's page (GET /console): markup only. Its script and style are separate files of this
 * origin (console/app.js, console/app.css), because the page's Content-Security-Policy allows no
 * inline script or style. The `data:` icon keeps browsers from asking for /favicon.ico.
 */
export const CONSOLE_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Crosswalk · identity console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="console/app.css">
<script type="module" src="console/app.js"></script>
</head>
<body>
<header>
  <h1>Crosswalk <span>identity console</span></h1>
  <form id="key-form" autocomplete="off">
    <label for="key-input">Operator key (ADMIN_API_KEYS)</label>
    <input id="key-input" type="password" autocomplete="off" spellcheck="false" required placeholder="kept in this tab only">
    <button type="submit" id="key-use">Use key</button>
  </form>
  <div id="key-set" hidden>
    <span>Operator key set for this tab</span>
    <button type="button" id="key-forget" class="secondary">Forget key</button>
  </div>
</header>
<main>
  <form id="lookup-form" autocomplete="off">
    <label>Identifier type
      <select id="type">
        <option value="email">email</option>
        <option value="user_id">user_id</option>
        <option value="anonymous_id">anonymous_id</option>
        <option value="ios.id">ios.id</option>
        <option value="android.id">android.id</option>
        <option value="ios.idfa">ios.idfa</option>
        <option value="android.idfa">android.idfa</option>
        <option value="phone">phone</option>
        <option value="">other…</option>
      </select>
    </label>
    <label id="custom-type-label" hidden>Custom type
      <input id="custom-type" spellcheck="false" placeholder="e.g. ga_client_id">
    </label>
    <label>Value
      <input id="value" spellcheck="false" required placeholder="albert@example.com">
    </label>
    <label>SDK key (optional)
      <input id="sdk-key" spellcheck="false" placeholder="empty: the default project">
    </label>
    <button type="submit" id="lookup">Look up</button>
  </form>
  <p id="status" role="status"></p>
  <div id="result"></div>
  <p class="hint">Lookups go in request bodies, never in URLs. Decisions shown here are made by the real decide route with DISABLE_DECISION_EVENT: nothing is sent to Optimizely.</p>
</main>
</body>
</html>
`;
