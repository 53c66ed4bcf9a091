{
  "variables": {
    "no_external_buffers%": 0,
    "dext_dir": "<!(node -p \"require('path').dirname(require.resolve('@dextio/dext/package.json'))\")"
  },
  "targets": [
    {
      "target_name": "dextio_native",
      "sources": ["src/addon.cc", "src/connection.cc", "src/monitor.cc", "src/services.cc"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<(dext_dir)/include"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "conditions": [
        ["no_external_buffers==1", {"defines": ["NODE_API_NO_EXTERNAL_BUFFERS_ALLOWED"]}],
        ["OS=='mac'", {
          "xcode_settings": {
            "OTHER_LDFLAGS": ["-framework", "IOKit", "-framework", "CoreFoundation"],
            "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
            "GCC_ENABLE_CPP_RTTI": "YES",
            "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
            "CLANG_CXX_LIBRARY": "libc++",
            "MACOSX_DEPLOYMENT_TARGET": "12.0"
          }
        }],
        ["OS=='linux'", {
          "include_dirs": ["<(dext_dir)/host/include"],
          "defines": ["DEXTIO_HOST_RUNTIME"],
          "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti"],
          "libraries": [
            "-Wl,--whole-archive",
            "<(dext_dir)/build/libdextio_host.a",
            "-Wl,--no-whole-archive",
            "-lBlocksRuntime",
            "-pthread"
          ]
        }]
      ]
    }
  ]
}
