// Stops a Node.js too old to run Flick (it runs its TypeScript natively: Node 24 or newer)
// with one line saying what to install, before anything fails in a more obscure way.
// Plain CommonJS in the oldest syntax, so that any Node can read it.
"use strict";
var needed = 24;
var version = process.versions.node;
if (Number(version.split(".")[0]) < needed) {
  process.stderr.write(
    "Flick needs Node.js " + needed + " or newer, and this is Node " + version +
      ": run `npm install -g --prefix ~/.node24 node@24` and put ~/.node24/bin first on PATH (export PATH=~/.node24/bin:$PATH)\n",
  );
  process.exit(1);
}
