# Helpers for the build steps that put files into the binaries as C
# arrays (collector/ingest/embed_sql.cmake, collector/web/embed_console.cmake).

# embed_bytes(FILE NAME OUT): appends to OUT's value a C array NAME with
# FILE's bytes and a trailing 0 (so text can be used as a C string).
function(embed_bytes file name out)
  file(READ ${file} hex HEX)
  string(REGEX REPLACE "(..)" "0x\\1," bytes "${hex}")
  # Break the byte list every 16 bytes to keep the lines short.
  string(REPEAT "0x..," 16 row)
  string(REGEX REPLACE "(${row})" "\\1\n    " bytes "${bytes}")
  set(${out} "${${out}}static const unsigned char ${name}[] = {\n    ${bytes}0x00};\n" PARENT_SCOPE)
endfunction()

# embed_write(OUT TEXT): writes TEXT to OUT only when it changed, so an
# unchanged input does not rebuild or relink.
function(embed_write out text)
  if(EXISTS ${out})
    file(READ ${out} old)
    if(old STREQUAL text)
      return()
    endif()
  endif()
  file(WRITE ${out} "${text}")
endfunction()
