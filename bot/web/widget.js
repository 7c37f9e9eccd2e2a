/*
 * The therapy-questions assistant's chat widget, for any website, with one script tag:
 *
 *   <script src="https://bot.example.org/widget/widget.js" defer
 *           data-title="Questions about therapy" data-region="GB"></script>
 *
 * Optional settings (data-* attributes of that tag):
 *   data-server  where the bot runs (default: where this script came from)
 *   data-region  crisis-line region, e.g. US, GB, IE, CA, AU, NZ (default: the bot's)
 *   data-title   the heading of the chat window
 *   data-target  CSS selector of an element to show the chat in (default: a corner panel)
 *
 * Why it is built this way:
 * - It lives in a shadow root, so the host page's styles cannot break it and its
 *   styles cannot leak into the page.
 * - Every text from a person or the bot is set with textContent, and only http(s)
 *   links are made, so nothing anyone types can become HTML or script.
 * - The crisis line comes from the bot (/widget/config.json), the same table the
 *   crisis replies use, and stays visible even when the panel is collapsed.
 * - The conversation is kept in sessionStorage: a reload continues it, while closing
 *   the tab forgets it, which suits a shared computer and a sensitive subject.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script || !script.src) {
    return;
  }
  var settings = script.dataset;
  var server = (settings.server || new URL(script.src, document.baseURI).origin).replace(/\/+$/, "");
  var title = settings.title || "Questions about therapy";
  var storageKey = "therapy-widget:" + server;
  var MAX_STORED_MESSAGES = 100;
  var MAX_MESSAGE_CHARS = 2000;

  var TEXT = {
    fallbackCrisis: "In crisis? Please call your local emergency number or a crisis line now.",
    note: "I'm an automated assistant, not a therapist. I share general information about therapy " +
      "and can't give personal advice.",
    empty: "Ask anything about what happens in therapy, for example \u201cHow long is a session?\u201d",
    label: "Your question",
    placeholder: "Type your question",
    send: "Send",
    you: "You said: ",
    bot: "Assistant: ",
    sources: "Sources",
    related: "Related topics",
    connecting: "Connecting to the assistant\u2026",
    offline: "I can't reach the assistant right now. I'll keep trying; if you need help now, " +
      "please use the crisis line above.",
    replying: "The assistant is replying\u2026",
    typeFirst: "Please type a question first.",
    crisisLabel: "Crisis support",
    crisisLinks: "Reach a crisis line now",
    hide: "Hide chat",
    show: "Show chat"
  };

  // ---- conversation state, kept for this tab only -------------------------------------

  function randomSessionId() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function loadState() {
    try {
      var stored = JSON.parse(window.sessionStorage.getItem(storageKey) || "null");
      if (stored && typeof stored.sessionId === "string" && Array.isArray(stored.messages)) {
        return stored;
      }
    } catch (ignored) {
      // Storage can be disabled or hold something else; a fresh conversation is fine.
    }
    return { sessionId: randomSessionId(), messages: [] };
  }

  var state = loadState();

  function saveState() {
    state.messages = state.messages.slice(-MAX_STORED_MESSAGES);
    try {
      window.sessionStorage.setItem(storageKey, JSON.stringify(state));
    } catch (ignored) {
      // Without storage a reload starts over; the chat itself still works.
    }
  }

  // ---- building the interface (text only ever goes in through textContent) ------------

  function el(tag, attributes, children) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) {
      if (name === "text") {
        node.textContent = attributes.text;
      } else {
        node.setAttribute(name, attributes[name]);
      }
    });
    (children || []).forEach(function (child) { node.appendChild(child); });
    return node;
  }

  /* A crisis link from the bot: tel: and sms: numbers (digits only) and https chat pages. */
  function safeLink(link) {
    if (!link || typeof link.href !== "string" || typeof link.label !== "string") {
      return null;
    }
    var kind = ["call", "text", "chat"].indexOf(link.kind) >= 0 ? link.kind : null;
    var href = link.href;
    if (/^(tel|sms):\+?[0-9]{2,15}$/.test(href) || (/^https:\/\//.test(href) && safeUrl(href))) {
      return kind ? { kind: kind, label: link.label, href: href } : null;
    }
    return null;
  }

  function cleanLinks(links) {
    return (Array.isArray(links) ? links : []).map(safeLink).filter(Boolean).slice(0, 6);
  }

  /* The links as a list of tap targets; a chat page opens in a new tab. Each link says
     what it does, so a screen reader announces "Call 988, link" rather than a number. */
  function renderLinks(links, label) {
    return el("ul", { "class": "crisis-links", "aria-label": label }, links.map(function (link) {
      var attributes = { href: link.href, "class": "crisis-link " + link.kind, text: link.label };
      if (link.kind === "chat") {
        attributes.target = "_blank";
        attributes.rel = "noopener noreferrer";
      }
      return el("li", {}, [el("a", attributes)]);
    }));
  }

  function safeUrl(value) {
    try {
      var url = new URL(value);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
    } catch (ignored) {
      return null;
    }
  }

  /* Reduces a bot_uttered event to what the widget shows, dropping anything malformed. */
  function cleanBotMessage(message) {
    if (!message || typeof message !== "object") {
      return null;
    }
    var custom = message.custom && typeof message.custom === "object" ? message.custom : {};
    var sources = (Array.isArray(custom.sources) ? custom.sources : []).map(function (source) {
      if (typeof source === "string") {
        return { title: source, url: null };
      }
      if (source && typeof source.title === "string") {
        return { title: source.title, url: typeof source.url === "string" ? safeUrl(source.url) : null };
      }
      return null;
    }).filter(Boolean);
    var buttons = (Array.isArray(message.buttons) ? message.buttons : []).filter(function (button) {
      return button && typeof button.title === "string" && typeof button.payload === "string";
    }).map(function (button) { return { title: button.title, payload: button.payload }; });
    var text = typeof message.text === "string" ? message.text : "";
    if (!text && !sources.length && !buttons.length) {
      return null;
    }
    return {
      from: "bot",
      text: text,
      sources: sources,
      buttons: buttons,
      crisis: custom.topic === "crisis",
      links: custom.topic === "crisis" ? cleanLinks(custom.links) : []
    };
  }

  var host = el("div", { "class": "therapy-widget-host" });
  var root = host.attachShadow({ mode: "open" });
  var target = null;
  try {
    target = settings.target ? document.querySelector(settings.target) : null;
  } catch (ignored) {
    // A mistyped selector should not cost the visitor the chat: the corner panel is used.
  }
  var floating = !target;
  if (floating) {
    host.classList.add("floating");
  }

  // The banner: the region's crisis line, then its call, text and chat links (from
  // /widget/config.json, i.e. the region table in bot/crisis/regions.py).
  var crisisText = el("p", { "class": "crisis", text: TEXT.fallbackCrisis });
  var crisisLine = el("div", { "class": "crisis-banner", role: "note", "aria-label": TEXT.crisisLabel }, [crisisText]);

  function showBannerLinks(links) {
    var old = crisisLine.querySelector(".crisis-links");
    if (old) {
      crisisLine.removeChild(old);
    }
    if (links.length) {
      crisisLine.appendChild(renderLinks(links, TEXT.crisisLinks));
    }
  }
  var log = el("div", {
    "class": "log", role: "log", "aria-live": "polite", "aria-relevant": "additions",
    "aria-label": "Conversation", tabindex: "0"
  });
  var emptyHint = el("p", { "class": "empty", text: TEXT.empty });
  var status = el("p", { "class": "status", role: "status" });
  var input = el("input", {
    id: "therapy-widget-input", type: "text", autocomplete: "off", maxlength: String(MAX_MESSAGE_CHARS),
    placeholder: TEXT.placeholder
  });
  var form = el("form", { "class": "composer" }, [
    el("label", { "for": "therapy-widget-input", "class": "visually-hidden", text: TEXT.label }),
    input,
    el("button", { type: "submit", "class": "send", text: TEXT.send })
  ]);
  var body = el("div", { "class": "body", id: "therapy-widget-body" }, [
    el("p", { "class": "note", text: TEXT.note }),
    emptyHint,
    log,
    status,
    form
  ]);
  var headerChildren = [el("h2", { "class": "title", text: title })];
  if (floating) {
    var toggle = el("button", {
      type: "button", "class": "toggle", "aria-expanded": "true", "aria-controls": "therapy-widget-body",
      text: TEXT.hide
    });
    toggle.addEventListener("click", function () {
      var open = body.hidden;
      body.hidden = !open;
      toggle.setAttribute("aria-expanded", String(open));
      toggle.textContent = open ? TEXT.hide : TEXT.show;
    });
    headerChildren.push(toggle);
  }
  var panel = el("section", { "class": "panel", "aria-label": title }, [
    el("header", { "class": "header" }, headerChildren),
    crisisLine,
    body
  ]);

  function renderMessage(message) {
    var isUser = message.from === "user";
    var item = el("div", { "class": "message " + (isUser ? "user" : "bot") + (message.crisis ? " crisis-reply" : "") }, [
      el("span", { "class": "visually-hidden", text: isUser ? TEXT.you : TEXT.bot }),
      el("p", { "class": "text", text: message.text })
    ]);
    var links = isUser ? [] : cleanLinks(message.links);  // stored messages are checked again
    if (links.length) {
      item.appendChild(renderLinks(links, TEXT.crisisLinks));
    }
    if (!isUser && message.sources && message.sources.length) {
      item.appendChild(el("div", { "class": "sources" }, [
        el("p", { "class": "sources-title", text: TEXT.sources }),
        el("ul", {}, message.sources.map(function (source) {
          var url = source.url ? safeUrl(source.url) : null;
          var label = url
            ? el("a", { href: url, target: "_blank", rel: "noopener noreferrer", text: source.title })
            : document.createTextNode(source.title);
          return el("li", {}, [label]);
        }))
      ]));
    }
    if (!isUser && message.buttons && message.buttons.length) {
      item.appendChild(el("div", { "class": "related", role: "group", "aria-label": TEXT.related },
        message.buttons.map(function (button) {
          var node = el("button", { type: "button", text: button.title });
          node.addEventListener("click", function () { send(button.payload, button.title); });
          return node;
        })));
    }
    return item;
  }

  var lastQuestion = null;

  /* Shows a message. Replies scroll only as far as the question they answer, so a long
     answer is seen from its start, which is where reading begins. */
  function showMessage(message) {
    emptyHint.hidden = true;
    var item = renderMessage(message);
    log.appendChild(item);
    if (message.from === "user") {
      lastQuestion = item;
    }
    log.scrollTop = lastQuestion ? lastQuestion.offsetTop - 8 : log.scrollHeight;
  }

  function addMessage(message) {
    state.messages.push(message);
    saveState();
    showMessage(message);
  }

  function setStatus(text) {
    status.textContent = text;
  }

  // The earlier conversation is drawn before the panel is on the page, so a screen
  // reader announces only new messages, not the whole history again after a reload.
  state.messages.forEach(showMessage);
  lastQuestion = null;
  var stylesheet = el("link", { rel: "stylesheet", href: server + "/widget/widget.css" });
  stylesheet.addEventListener("load", function () { log.scrollTop = log.scrollHeight; });
  root.appendChild(stylesheet);
  root.appendChild(panel);
  (target || document.body).appendChild(host);

  // ---- talking to the bot -----------------------------------------------------------------

  var region = settings.region || "";
  var socket = null;
  var outbox = [];  // messages sent before the socket.io client has loaded

  function deliver(body) {
    if (socket) {
      // socket.io keeps messages sent while offline and delivers them on reconnecting.
      socket.emit("user_uttered", body);
    } else {
      outbox.push(body);
    }
  }

  function send(text, shownAs) {
    var message = text.trim();
    if (!message) {
      setStatus(TEXT.typeFirst);
      return;
    }
    addMessage({ from: "user", text: shownAs || message });
    setStatus(socket && socket.connected ? TEXT.replying : TEXT.connecting);
    deliver({ message: message, session_id: state.sessionId, metadata: region ? { region: region } : {} });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value;
    input.value = "";
    send(text);
    input.focus();
  });

  fetch(server + "/widget/config.json?region=" + encodeURIComponent(region), { credentials: "omit" })
    .then(function (reply) { return reply.ok ? reply.json() : Promise.reject(reply.status); })
    .then(function (config) {
      if (config && typeof config.banner === "string") {
        crisisText.textContent = config.banner;
      }
      if (config) {
        showBannerLinks(cleanLinks(config.links));
      }
      if (config && typeof config.region === "string") {
        region = config.region;
      }
    })
    .catch(function () {
      // The general line stays up; it is better than no line at all.
    });

  /* Loads the pinned socket.io client served by the bot, without taking over the page's `io`. */
  function loadSocketIo() {
    return new Promise(function (resolve, reject) {
      var hadIo = Object.prototype.hasOwnProperty.call(window, "io");
      var pagesIo = window.io;
      var tag = document.createElement("script");
      tag.src = server + "/widget/socket.io.min.js";
      tag.async = true;
      tag.onload = function () {
        var ours = window.io;
        if (hadIo) {
          window.io = pagesIo;
        } else {
          delete window.io;
        }
        return typeof ours === "function" ? resolve(ours) : reject(new Error("no socket.io client"));
      };
      tag.onerror = function () { reject(new Error("socket.io client did not load")); };
      document.head.appendChild(tag);
    });
  }

  setStatus(TEXT.connecting);
  loadSocketIo().then(function (io) {
    // WebSocket only: its handshake carries the page's Origin, which the bot checks
    // against ALLOWED_ORIGINS, and it needs no cross-origin HTTP polling.
    socket = io(server, { path: "/socket.io", transports: ["websocket"] });
    outbox.splice(0).forEach(deliver);
    socket.on("connect", function () {
      setStatus("");
      socket.emit("session_request", { session_id: state.sessionId });
    });
    socket.on("session_confirm", function (sessionId) {
      if (typeof sessionId === "string" && sessionId) {
        state.sessionId = sessionId;
        saveState();
      }
    });
    socket.on("bot_uttered", function (raw) {
      var message = cleanBotMessage(raw);
      if (message) {
        setStatus("");
        addMessage(message);
      }
    });
    socket.on("connect_error", function () { setStatus(TEXT.offline); });
    socket.on("disconnect", function () { setStatus(TEXT.offline); });
  }).catch(function () {
    setStatus(TEXT.offline);
  });
}());
