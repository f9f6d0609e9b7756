-- End-to-end test of netc in Neovim, run by tests/neovim.rs:
--   NETC=target/release/netc nvim --headless --clean -c 'luafile editors/neovim/test/e2e.lua'
-- from the repository's root. It opens examples/seed_torch.net with the setup of
-- editors/neovim (filetype, `netc lsp`), waits for the E0007 diagnostic on line 14, and asks
-- for the hover of the 1x1 convolution on line 13, which must show its shape, 128x28x28.
-- It prints what it sees and exits with 0 when all of it is right, 1 otherwise.
local failed = false
local function say(s)
  io.stdout:write(s .. '\n')
end
local function check(ok, what)
  say((ok and 'ok: ' or 'FAILED: ') .. what)
  failed = failed or not ok
  return ok
end

local ok, err = pcall(function()
  vim.opt.runtimepath:prepend(vim.fn.getcwd() .. '/editors/neovim')
  require('netc').setup({ cmd = { os.getenv('NETC') or 'netc', 'lsp' } })
  vim.cmd('edit examples/seed_torch.net')
  check(vim.bo.filetype == 'netc', 'filetype of examples/seed_torch.net is ' .. vim.bo.filetype)

  local function e0007()
    for _, d in ipairs(vim.diagnostic.get(0)) do
      if d.code == 'E0007' then
        return d
      end
    end
  end
  -- Waits for the diagnostic, or until the server has quit.
  local id = vim.b.netc_client
  local function running()
    return id ~= nil and vim.lsp.get_client_by_id(id) ~= nil
  end
  vim.wait(30000, function()
    return e0007() ~= nil or not running()
  end, 50)
  if not check(running(), '`netc lsp` is running') then
    return
  end
  for _, d in ipairs(vim.diagnostic.get(0)) do
    say(string.format('diagnostic %d:%d %s %s', d.lnum + 1, d.col + 1, tostring(d.code), d.message))
  end
  local d = e0007()
  check(d ~= nil and d.lnum + 1 == 14, 'E0007 on line 14')

  local line = vim.api.nvim_buf_get_lines(0, 12, 13, true)[1]
  local col = line:find('conv', 1, true) - 1
  local params = {
    textDocument = { uri = vim.uri_from_bufnr(0) },
    position = { line = 12, character = col },
  }
  local results = vim.lsp.buf_request_sync(0, 'textDocument/hover', params, 10000) or {}
  local text = {}
  for _, r in pairs(results) do
    if r.result and r.result.contents then
      local lines = vim.lsp.util.convert_input_to_markdown_lines(r.result.contents)
      for _, l in ipairs(lines) do
        table.insert(text, l)
      end
    end
  end
  local hover = table.concat(text, '\n')
  say('hover on line 13, column ' .. (col + 1) .. ' (`conv`):\n' .. hover)
  check(hover:find('128x28x28', 1, true) ~= nil, 'the hover shows the shape 128x28x28')
end)
if not ok then
  say('FAILED: ' .. tostring(err))
  failed = true
end
io.stdout:flush()
vim.cmd(failed and 'cquit 1' or 'qall!')
