#!/usr/bin/python3
# web_client.py DP_RPC_PORT DOWNLOADING_NAME SEEDING_NAME LOG_DIR: Transmission's own web client
# (Debian's transmission-common), served by downpour on /transmission/web/, driven in headless
# Chromium: it loads, lists both torrents, a stop and a start clicked on the page reach downpour
# and show on the page within one refresh, the download limit's checkbox stays on and the limit
# applies, the turtle button works, a file unchecked in the inspector keeps its priority, the
# inspector's trackers tab shows the tracker's seeder
# count, and the page logs no JavaScript error. Exit 1 on any failed check.
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from trpc import Rpc  # noqa: E402
from webdriver import Browser  # noqa: E402

port, dl_name, seed_name, logdir = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
rpc = Rpc(port)
failed = []


def check(name, cond, detail=""):
    print("%s %s%s" % ("ok  " if cond else "FAIL", name, (": " + str(detail)) if detail else ""),
          flush=True)
    if not cond:
        failed.append(name)
    return cond


def torrent(name):
    for t in rpc.torrents(["id", "name", "status", "rateDownload"])["torrents"]:
        if t["name"] == name:
            return t
    return None


ROWS = """return Array.from(document.querySelectorAll('#torrent_list li.torrent')).map(function (li) {
    var n = li.querySelector('.torrent_name');
    return [n ? n.textContent : '', li.textContent]; });"""


def row_text(b, name):
    for n, text in b.js(ROWS):
        if n == name:
            return text
    return None


b = Browser(os.path.join(logdir, "chromedriver.log"))
try:
    b.get("http://127.0.0.1:%d/transmission/web/" % port)
    rows = b.wait("the torrent list", lambda: len(b.js(ROWS)) == 2 and b.js(ROWS), 30)
    check("the page lists both torrents", sorted(n for n, _ in rows) == sorted([dl_name, seed_name]),
          [n for n, _ in rows])
    b.wait("the download to run", lambda: (torrent(dl_name) or {}).get("status") == 4, 30)
    b.wait("the page to show it downloading", lambda: "Downloading" in (row_text(b, dl_name) or ""),
           15)

    # Stop it from the page: select its row, click the toolbar's pause.
    k = b.js("""var rows = document.querySelectorAll('#torrent_list > li');
        for (var i = 0; i < rows.length; i++)
            if (rows[i].querySelector('.torrent_name') &&
                rows[i].querySelector('.torrent_name').textContent == arguments[0])
                return i + 1;
        return 0;""", dl_name)
    b.click("#torrent_list > li:nth-child(%d) .torrent_name" % k)
    b.click("#toolbar-pause")
    try:
        b.wait("downpour to stop it", lambda: (torrent(dl_name) or {}).get("status") == 0, 5)
        check("pause on the page stops the torrent in downpour", True)
    except Exception as e:
        check("pause on the page stops the torrent in downpour", False, e)
    # One refresh is 5 s; the page refreshes right after a command too.
    t0 = time.time()
    try:
        b.wait("the page to show it paused", lambda: "Paused" in (row_text(b, dl_name) or ""), 6)
        check("the page shows it paused within one refresh (%.1f s)" % (time.time() - t0), True)
    except Exception as e:
        check("the page shows it paused within one refresh", False, row_text(b, dl_name))
    b.click("#toolbar-start")
    try:
        b.wait("downpour to start it", lambda: (torrent(dl_name) or {}).get("status") in (3, 4), 5)
        check("start on the page starts it in downpour", True)
    except Exception as e:
        check("start on the page starts it in downpour", False, e)
    try:
        b.wait("the page to show it running",
               lambda: "Paused" not in (row_text(b, dl_name) or "Paused"), 6)
        check("the page shows it running again within one refresh", True)
    except Exception as e:
        check("the page shows it running again within one refresh", False, row_text(b, dl_name))

    # The download limit from the preferences: its checkbox stays on, the limit applies.
    b.click("#prefs-button")
    b.wait("the preferences dialog", lambda: b.js("return $('#prefs-dialog').is(':visible');"), 10)
    b.click("#prefs-tab-speed")
    if not b.js("return $('#speed-limit-down-enabled').prop('checked');"):
        b.click("#speed-limit-down-enabled")
    b.type("#speed-limit-down", "123\t")
    try:
        s = b.wait("session-set from the page", lambda: (lambda a: a.get("speed-limit-down") == 123
                   and a.get("speed-limit-down-enabled") and a)(rpc.ok("session-get")), 10)
        check("the page's download limit reaches downpour (on, 123 kB/s)", True)
    except Exception as e:
        check("the page's download limit reaches downpour (on, 123 kB/s)", False, e)
    time.sleep(6)   # a refresh of the session
    check("the checkbox stays on after a refresh",
          b.js("return $('#speed-limit-down-enabled').prop('checked');") is True)
    b.get("http://127.0.0.1:%d/transmission/web/" % port)
    b.wait("the page again", lambda: len(b.js(ROWS)) == 2, 30)
    b.click("#prefs-button")
    b.wait("the preferences dialog", lambda: b.js("return $('#prefs-dialog').is(':visible');"), 10)
    check("after a reload the checkbox is on and shows 123",
          b.js("return [$('#speed-limit-down-enabled').prop('checked'), $('#speed-limit-down').val()];")
          == [True, "123"])

    # The turtle button switches the alternative limits on and off, in downpour too.
    b.js("$('#prefs-dialog').dialog('close');")
    for want in (True, False):
        b.click("#turtle-button")
        try:
            b.wait("alt-speed-enabled %s" % want,
                   lambda: rpc.ok("session-get")["alt-speed-enabled"] is want, 8)
            check("the turtle button switches the alternative limits %s" % ("on" if want else "off"),
                  True)
        except Exception as e:
            check("the turtle button switches the alternative limits %s" % ("on" if want else "off"),
                  False, e)

    # The inspector's files tab: b.bin made high priority on the page, then unchecked there,
    # keeps its priority (issue 18: files-unwanted reset it to normal), in downpour and on the
    # page after a refresh.
    k = b.js("""var rows = document.querySelectorAll('#torrent_list > li');
        for (var i = 0; i < rows.length; i++)
            if (rows[i].querySelector('.torrent_name') &&
                rows[i].querySelector('.torrent_name').textContent == arguments[0])
                return i + 1;
        return 0;""", dl_name)
    b.click("#torrent_list > li:nth-child(%d) .torrent_name" % k)
    if not b.js("return $('#torrent_inspector').is(':visible');"):
        b.click("#toolbar-inspector")
    b.click("#inspector-tab-files")
    FILE_ROW = """var rows = $('#inspector_file_list li');
        for (var i = 0; i < rows.length; i++)
            if ($(rows[i]).find('.inspector_torrent_file_list_entry_name').text() == 'b.bin')
                return i;
        return -1;"""
    b.wait("b.bin in the files tab", lambda: b.js(FILE_ROW) >= 0, 20)
    i = b.js(FILE_ROW)

    def dp_file():
        t = [t for t in rpc.torrents(["name", "files", "fileStats"])["torrents"]
             if t["name"] == dl_name][0]
        j = [n for n, f in enumerate(t["files"]) if f["name"].endswith("b.bin")][0]
        return t["fileStats"][j]
    b.js("$($('#inspector_file_list li')[arguments[0]]).find('.file-priority-radiobox .high')"
         ".click();", i)
    try:
        b.wait("high priority in downpour", lambda: dp_file()["priority"] == 1, 10)
        b.js("$($('#inspector_file_list li')[arguments[0]]).find('.file_wanted_control')"
             ".prop('checked', false).change();", i)
        b.wait("b.bin unwanted in downpour", lambda: dp_file()["wanted"] is False, 10)
        check("unchecking a file on the page keeps its high priority in downpour",
              dp_file()["priority"] == 1, dp_file())
    except Exception as e:
        check("unchecking a file on the page keeps its high priority in downpour", False,
              "%s %s" % (e, dp_file()))
    time.sleep(6)   # a refresh of the inspector
    i = b.js(FILE_ROW)
    check("after a refresh the page shows b.bin unchecked and still high",
          b.js("var r = $($('#inspector_file_list li')[arguments[0]]);"
               "return [r.find('.file_wanted_control').prop('checked'),"
               " r.find('.file-priority-radiobox .high').hasClass('selected')];", i)
          == [False, True])

    # The inspector's trackers tab shows the tracker's counts for the seeding torrent (issue 18:
    # trackerStats' counts were empty); downpour itself is the seeder opentracker counts.
    k = b.js("""var rows = document.querySelectorAll('#torrent_list > li');
        for (var i = 0; i < rows.length; i++)
            if (rows[i].querySelector('.torrent_name') &&
                rows[i].querySelector('.torrent_name').textContent == arguments[0])
                return i + 1;
        return 0;""", seed_name)
    b.click("#torrent_list > li:nth-child(%d) .torrent_name" % k)
    if not b.js("return $('#torrent_inspector').is(':visible');"):
        b.click("#toolbar-inspector")
    b.click("#inspector-tab-trackers")
    TRACKERS = "return $('#inspector_trackers_list').text();"
    try:
        b.wait("the trackers tab to count a seeder",
               lambda: __import__("re").search(r"Seeders:\s*[1-9]", b.js(TRACKERS) or ""), 40)
        check("the inspector's trackers tab shows the tracker's seeder count", True)
    except Exception as e:
        check("the inspector's trackers tab shows the tracker's seeder count", False,
              (b.js(TRACKERS) or "")[:300])

    # A 409 is Transmission's session-id handshake (the page retries with the id): not an error.
    errors = [m for lvl, m in b.console() if lvl == "SEVERE" and "(Conflict)" not in m]
    check("no JavaScript errors on the page", not errors, errors[:5])
finally:
    b.close()

if failed:
    print("FAILED: %d check(s): %s" % (len(failed), ", ".join(failed)))
    sys.exit(1)
print("all checks passed")
