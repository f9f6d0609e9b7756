-- netc for Neovim: the filetype `netc` for *.net and *.netlib files, `#` comments, and the
-- language server `netc lsp` started for each such buffer.
--
--   vim.opt.runtimepath:append('/path/to/netc/editors/neovim')
--   require('netc').setup()                                  -- `netc` on PATH
--   require('netc').setup({ cmd = { '/path/to/netc', 'lsp' } })
--
-- Works with Neovim 0.7 and later (`vim.lsp.start` from 0.8 on, `vim.lsp.start_client` before).
local M = {}

-- The folder of the nearest .git above `path`, or the file's own folder: the server's root.
local function root_dir(path)
  local dir = vim.fn.fnamemodify(path, ':p:h')
  local git = vim.fn.finddir('.git', dir .. ';')
  if git ~= '' then
    return vim.fn.fnamemodify(git, ':p:h:h')
  end
  return dir
end

local function start(buf, cmd)
  local config = {
    name = 'netc',
    cmd = cmd,
    root_dir = root_dir(vim.api.nvim_buf_get_name(buf)),
  }
  if vim.lsp.start then
    return vim.lsp.start(config, { bufnr = buf })
  end
  -- Neovim 0.7: one client per root, attached to each buffer of that root.
  M.clients = M.clients or {}
  local id = M.clients[config.root_dir]
  if not id or vim.lsp.get_client_by_id(id) == nil then
    id = vim.lsp.start_client(config)
    M.clients[config.root_dir] = id
  end
  if id then
    vim.lsp.buf_attach_client(buf, id)
  end
  return id
end

function M.setup(opts)
  opts = opts or {}
  local cmd = opts.cmd or { 'netc', 'lsp' }
  local group = vim.api.nvim_create_augroup('netc', { clear = true })
  vim.api.nvim_create_autocmd({ 'BufRead', 'BufNewFile' }, {
    group = group,
    pattern = { '*.net', '*.netlib' },
    command = 'setfiletype netc',
  })
  vim.api.nvim_create_autocmd('FileType', {
    group = group,
    pattern = 'netc',
    callback = function(args)
      vim.bo[args.buf].commentstring = '# %s'
      vim.bo[args.buf].comments = ':#,://'
      -- `K` shows the hover (Neovim maps it so itself from 0.10 on).
      if vim.fn.has('nvim-0.10') == 0 then
        vim.keymap.set('n', 'K', vim.lsp.buf.hover, { buffer = args.buf })
      end
      -- The client's id, for scripts (the end-to-end test waits on it).
      vim.b[args.buf].netc_client = start(args.buf, cmd)
    end,
  })
end

return M
